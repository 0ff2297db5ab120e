"""Copy items back from a point-in-time-restored table without bringing erased people back.

A PITR restore goes into a new table holding the data as it was at the restore point,
people erased since then included. Persona keeps no identifiers of erased people, only
keyed hashes: the privacy context's proofs (`ERASED#<HMAC(privacy_keys, subject id)>`) and
the profiles context's suppression list (`SUPPRESSED`: HMAC(profiles_keys, id, e-mail,
phone)). Both are read from the *live* tables (a restored one would have lost the
recent ones). Every string in a restored item (keys split at `#`, JSON text parsed) is
hashed with both keys; an item that names an erased person is not copied, and neither
is anything filed under one of their privacy requests (outbox messages, audit steps).

`persona copy-back` runs it (docs/operations.md, "Restoring a table").
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.pseudonyms import pseudonym

ERASED_PREFIX = "ERASED#"
SUPPRESSED_PK = "SUPPRESSED"
REQUESTS_PK = "REQUESTS"  # privacy requests: sk is the request id


@dataclass(frozen=True)
class ErasedPeople:
    proofs: frozenset[str]
    suppressed: frozenset[str]
    privacy_key: str
    profiles_key: str

    def includes(self, value: str) -> bool:
        return pseudonym(value, self.privacy_key) in self.proofs or pseudonym(value, self.profiles_key) in self.suppressed


def strings_in(value: Any) -> Iterator[str]:
    """Every string an item holds: values, map keys, key segments (`CUSTOMER#C-1` -> `C-1`), JSON text's contents."""
    if isinstance(value, str):
        yield value
        if "#" in value:
            yield from value.split("#")
        if value[:1] in "{[":
            try:
                yield from strings_in(json.loads(value))
            except ValueError:
                pass
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from strings_in(key)
            yield from strings_in(inner)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for inner in value:
            yield from strings_in(inner)


def _prefix(item: dict[str, Any]) -> str:
    return str(item.get("pk", "")).split("#", 1)[0]


@dataclass
class Outcome:
    scanned: int = 0
    copied: int = 0
    skipped_erased: int = 0
    skipped_existing: int = 0
    erased_by_prefix: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"scanned": self.scanned, "copied": self.copied, "skipped_erased": self.skipped_erased,
                "skipped_existing": self.skipped_existing, "erased_by_prefix": dict(sorted(self.erased_by_prefix.items()))}


def erased_request_ids(items: Iterable[dict[str, Any]], erased: ErasedPeople) -> set[str]:
    """Privacy requests (in the restored table) made by people erased since."""
    return {str(i["sk"]) for i in items if i.get("pk") == REQUESTS_PK and any(erased.includes(s) for s in strings_in(i))}


def names_erased(item: dict[str, Any], erased: ErasedPeople, request_ids: set[str]) -> bool:
    if item.get("pk") == SUPPRESSED_PK or str(item.get("pk", "")).startswith(ERASED_PREFIX):
        return False  # the keyed hashes themselves: what remembers the erasure
    found = set(strings_in(item))
    return bool(found & request_ids) or any(erased.includes(s) for s in found)


def copy_back(scan: Callable[[], Iterable[dict[str, Any]]], put: Callable[[dict[str, Any]], bool], erased: ErasedPeople,
              *, progress: Callable[[int], None] | None = None) -> Outcome:
    """Copy what `scan` yields (called twice: requests first) with `put`, which returns False for an item it
    left alone (one already there, without --overwrite), skipping everything about erased people."""
    request_ids = erased_request_ids(scan(), erased)
    outcome = Outcome()
    for item in scan():
        outcome.scanned += 1
        if names_erased(item, erased, request_ids):
            outcome.skipped_erased += 1
            outcome.erased_by_prefix[_prefix(item)] += 1
        elif put(item):
            outcome.copied += 1
        else:
            outcome.skipped_existing += 1
        if progress and outcome.scanned % 10_000 == 0:
            progress(outcome.scanned)
    return outcome


# ---------------------------------------------------------------- DynamoDB and Secrets Manager


def load_erased(dynamodb: Any, secrets: Any, *, privacy_table: str, profiles_table: str, privacy_secret: str,
                profiles_secret: str) -> ErasedPeople:
    """The keyed hashes of everyone erased, from the live privacy and profiles tables, and the two keys."""
    from boto3.dynamodb.conditions import Attr, Key

    proofs = {str(i["pk"]).removeprefix(ERASED_PREFIX)
              for i in _pages(dynamodb.Table(privacy_table).scan, FilterExpression=Attr("pk").begins_with(ERASED_PREFIX))}
    suppressed = {str(i["sk"]) for i in _pages(dynamodb.Table(profiles_table).query, KeyConditionExpression=Key("pk").eq(SUPPRESSED_PK))}
    return ErasedPeople(
        proofs=frozenset(proofs), suppressed=frozenset(suppressed),
        privacy_key=secrets.get_secret_value(SecretId=privacy_secret)["SecretString"],
        profiles_key=secrets.get_secret_value(SecretId=profiles_secret)["SecretString"],
    )


def _pages(call: Callable[..., dict[str, Any]], **kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = call(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def table_copier(dynamodb: Any, source: str, target: str, *, overwrite: bool,
                 dry_run: bool) -> tuple[Callable[[], Iterable[dict]], Callable[[dict], bool]]:
    """(scan of the restored table, put into the live one). Without `overwrite` an item already in the live
    table stays as it is (a conditional put); a dry run writes nothing."""
    from botocore.exceptions import ClientError

    source_table, target_table = dynamodb.Table(source), dynamodb.Table(target)

    def scan() -> Iterable[dict]:
        return _pages(source_table.scan)

    def put(item: dict) -> bool:
        if dry_run:
            return overwrite or "Item" not in target_table.get_item(Key={"pk": item["pk"], "sk": item["sk"]})
        try:
            condition = {} if overwrite else {"ConditionExpression": "attribute_not_exists(pk)"}
            target_table.put_item(Item=item, **condition)
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    return scan, put
