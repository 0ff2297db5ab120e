"""DynamoDB adapter. Tables follow one key convention: string `pk` and `sk`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from shared.aws.clients import client, resource

_serializer = TypeSerializer()


def _serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items()}


class DynamoTable:
    def __init__(self, name: str) -> None:
        self.name = name
        self._table = resource("dynamodb").Table(name)

    def get(self, key: Mapping[str, Any], *, consistent: bool = False) -> dict[str, Any] | None:
        return self._table.get_item(Key=dict(key), ConsistentRead=consistent).get("Item")

    def get_many(self, keys: Sequence[Mapping[str, Any]], *, max_attempts: int = 8) -> list[dict[str, Any]]:
        """BatchGetItem in calls of ≤ 100 keys, resending unprocessed keys with backoff.

        A key asked for twice is read once: BatchGetItem refuses a request with duplicate keys
        (a visitor whose user_id equals their anonymous_id asked for the same item twice)."""
        keys = list({tuple(sorted(k.items())): k for k in keys}.values())
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            request = {self.name: {"Keys": [dict(k) for k in keys[start : start + 100]]}}
            for attempt in range(max_attempts):
                response = resource("dynamodb").batch_get_item(RequestItems=request)
                found.extend(response.get("Responses", {}).get(self.name, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(1.0, 0.02 * 2**attempt))
            else:
                raise RuntimeError(f"{self.name}: keys still unprocessed after {max_attempts} attempts")
        return found

    def put(self, item: Mapping[str, Any]) -> None:
        self._table.put_item(Item=dict(item))

    def put_many(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Batch-write items; boto3's batch writer sends ≤ 25 per call and resends unprocessed items."""
        return self._batch_write(items, lambda batch, item: batch.put_item(Item=dict(item)))

    def delete_many(self, keys: Iterable[Mapping[str, Any]]) -> int:
        return self._batch_write(keys, lambda batch, key: batch.delete_item(Key=dict(key)))

    def _batch_write(self, entries: Iterable[Mapping[str, Any]], write: Any) -> int:
        count = 0
        with self._table.batch_writer() as batch:
            for entry in entries:
                write(batch, entry)
                count += 1
        return count

    def query(
        self, partition_key: str, value: str, *, limit: int | None = None, newest_first: bool = False,
        sort_key_prefix: str | None = None, sort_key_from: str | None = None,
    ) -> list[dict[str, Any]]:
        """Items of one partition; `sort_key_from` keeps sort keys >= it (within the prefix)."""
        condition = Key(partition_key).eq(value)
        if sort_key_from:
            condition &= Key("sk").between(sort_key_from, (sort_key_prefix or "") + "\uffff")
        elif sort_key_prefix:
            condition &= Key("sk").begins_with(sort_key_prefix)
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition, "ScanIndexForward": not newest_first}
        if limit:
            kwargs["Limit"] = limit
        items: list[dict[str, Any]] = []
        while True:
            page = self._table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page or (limit and len(items) >= limit):
                return items[:limit] if limit else items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def scan(self) -> Iterator[dict[str, Any]]:
        """Every item, page by page (for batch jobs, not request paths)."""
        kwargs: dict[str, Any] = {}
        while True:
            page = self._table.scan(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def transact(self, actions: Sequence[Put | Add | Delete]) -> bool:
        """All of `actions` or none. False when a Put(only_if_absent=True) found its item.

        With a marker Put(only_if_absent=True) first, this applies counters exactly
        once per marker: a redelivered message never counts twice, a failed one never half.
        """
        try:
            client("dynamodb").transact_write_items(TransactItems=[a.request(self.name) for a in actions])
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                return False
            raise
        return True

    def put_if_newer(self, item: Mapping[str, Any], version_attribute: str) -> bool:
        """Put `item` unless the stored one has a greater or equal `version_attribute`
        (out-of-order delivery never lets an older state win); False when it did not."""
        try:
            self._table.put_item(
                Item=dict(item),
                ConditionExpression="attribute_not_exists(pk) OR #v < :v",
                ExpressionAttributeNames={"#v": version_attribute},
                ExpressionAttributeValues={":v": item[version_attribute]},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put_if_absent(self, item: Mapping[str, Any]) -> bool:
        """Put `item` unless an item with its key exists; False when it did."""
        try:
            self._table.put_item(Item=dict(item), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


@dataclass(frozen=True)
class Put:
    item: Mapping[str, Any]
    only_if_absent: bool = False
    # Optimistic locking: replace only while the stored item still has this version (or is absent).
    if_version: tuple[str, int] | None = None

    def request(self, table: str) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": table, "Item": _serialize(self.item)}
        if self.only_if_absent:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        elif self.if_version:
            attribute, version = self.if_version
            put["ConditionExpression"] = "attribute_not_exists(pk) OR #v = :v"
            put["ExpressionAttributeNames"] = {"#v": attribute}
            put["ExpressionAttributeValues"] = _serialize({":v": version})
        return {"Put": put}


@dataclass(frozen=True)
class Add:
    """ADD numbers to attributes (and/or strings to string-set attributes) of one item."""

    key: Mapping[str, Any]
    counters: Mapping[str, int | Decimal] = field(default_factory=dict)
    string_sets: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def request(self, table: str) -> dict[str, Any]:
        values = {**self.counters, **{name: set(members) for name, members in self.string_sets.items()}}
        names = {f"#a{i}": name for i, name in enumerate(values)}
        placeholders = {f":a{i}": value for i, value in enumerate(values.values())}
        return {
            "Update": {
                "TableName": table,
                "Key": _serialize(self.key),
                "UpdateExpression": "ADD " + ", ".join(f"{n} {v}" for n, v in zip(names, placeholders)),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": _serialize(placeholders),
            }
        }


@dataclass(frozen=True)
class Delete:
    key: Mapping[str, Any]

    def request(self, table: str) -> dict[str, Any]:
        return {"Delete": {"TableName": table, "Key": _serialize(self.key)}}
