"""The recommend context's DynamoDB table: consent projection, identity links, interaction
history and exposure history, one partition per subject.

    pk SUBJECT#<id>  sk CONSENT                         projection of ConsentChanged
                     sk LINKED_TO                       anonymous id -> customer id
                     sk ALIAS#<anonymous id>            customer -> its anonymous ids
                     sk EVENT#<at>#<interaction id>     one interaction (TTL 90 days)
                     sk SHOWN#<at>#<placement>          one answer shown (TTL 90 days)

History and exposures have no length cap: each is its own item, bounded only by TTL,
and a request reads only the window it needs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.recommend.schemas import ConsentState, Exposure, HistoryEntry
from functions.recommend.settings import TableSettings
from shared import settings
from shared.aws.dynamodb import DynamoTable
from shared.identity_links import IdentityLinks

KEPT = timedelta(days=90)  # DynamoDB TTL removes older history and exposures


def _pk(subject_id: str) -> str:
    return f"SUBJECT#{subject_id}"


def _expires(at: datetime) -> int:
    return int((at + KEPT).timestamp())


class RecommendStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self.links = IdentityLinks(table, "SUBJECT#")

    # ------------------------------------------------------------ request path
    def requester(self, user_id: str | None, anonymous_id: str | None) -> tuple[list[str], dict[str, ConsentState]]:
        """Whose data this request may use (customer first, then the session's anonymous id)
        and their consent states, in one read."""
        keys = [{"pk": _pk(i), "sk": "CONSENT"} for i in (user_id, anonymous_id) if i]
        if anonymous_id and not user_id:
            keys.append({"pk": _pk(anonymous_id), "sk": "LINKED_TO"})
        found = self.table.get_many(keys)
        customer = user_id or next((f["customer_id"] for f in found if f["sk"] == "LINKED_TO"), None)
        subjects = [s for s in (customer, anonymous_id) if s]
        consents = {f["pk"].removeprefix("SUBJECT#"): _consent(f) for f in found if f["sk"] == "CONSENT"}
        if customer and customer != user_id and customer not in consents:
            consents.update(self.consents([customer]))
        return subjects, consents

    def consents(self, subject_ids: list[str]) -> dict[str, ConsentState]:
        found = self.table.get_many([{"pk": _pk(s), "sk": "CONSENT"} for s in dict.fromkeys(subject_ids)])
        return {f["pk"].removeprefix("SUBJECT#"): _consent(f) for f in found}

    def history(self, subject_ids: list[str], limit: int) -> list[HistoryEntry]:
        """Newest first, across the subjects, each interaction once."""
        entries: dict[str, HistoryEntry] = {}
        for subject in subject_ids:
            for item in self.table.query("pk", _pk(subject), sort_key_prefix="EVENT#", newest_first=True, limit=limit):
                entry = HistoryEntry.model_validate(item)
                entries.setdefault(entry.interaction_id, entry)
        return sorted(entries.values(), key=lambda e: e.at, reverse=True)[:limit]

    def exposures(self, subject_id: str, since: datetime) -> list[Exposure]:
        items = self.table.query("pk", _pk(subject_id), sort_key_prefix="SHOWN#", sort_key_from=f"SHOWN#{since.isoformat()}")
        return [Exposure.model_validate(i) for i in items]

    def record_exposure(self, subject_id: str, exposure: Exposure) -> None:
        self.table.put({"pk": _pk(subject_id), "sk": f"SHOWN#{exposure.at.isoformat()}#{exposure.placement}",
                        **exposure.model_dump(mode="json"), "expires_at": _expires(exposure.at)})

    # ------------------------------------------------------------ event consumers
    def add_history(self, subject_id: str, entries: list[HistoryEntry]) -> int:
        return self.table.put_many(
            {"pk": _pk(subject_id), "sk": f"EVENT#{e.at.isoformat()}#{e.interaction_id}", **e.model_dump(mode="json"),
             "expires_at": _expires(e.at)}
            for e in entries
        )

    def set_consent(self, subject_id: str, state: ConsentState) -> bool:
        """Record the newest consent state; an older event delivered late changes nothing."""
        return self.table.put_if_newer({"pk": _pk(subject_id), "sk": "CONSENT", **state.model_dump(mode="json")}, "changed_at")

    def resolve(self, anonymous_id: str) -> str | None:
        return self.links.resolve(anonymous_id)

    def link(self, anonymous_id: str, customer_id: str) -> int:
        """The visitor identified: its history and exposures move to the customer. Returns how many moved."""
        self.links.link(anonymous_id, customer_id)
        moving = [i for i in self.table.query("pk", _pk(anonymous_id)) if i["sk"].startswith(("EVENT#", "SHOWN#"))]
        self.table.put_many({**i, "pk": _pk(customer_id)} for i in moving)
        self.table.delete_many({"pk": i["pk"], "sk": i["sk"]} for i in moving)
        return len(moving)

    # ------------------------------------------------------------ privacy
    def identifiers(self, subject_id: str) -> set[str]:
        return self.links.identifiers(subject_id)

    def subject_export(self, subject_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
        tables: dict[str, list[dict[str, Any]]] = {}
        names = {"EVENT#": "interaction_history", "SHOWN#": "exposure_history", "CONSENT": "consent_projection",
                 "LINKED_TO": "identity_links", "ALIAS#": "identity_links"}
        for subject in sorted(subject_ids):
            for item in self.table.query("pk", _pk(subject)):
                name = next(v for k, v in names.items() if item["sk"].startswith(k))
                row = {"subject_id": subject, **{k: _plain(v) for k, v in item.items() if k not in ("pk", "sk", "expires_at")}}
                if item["sk"].startswith("ALIAS#"):
                    row["anonymous_id"] = item["sk"].removeprefix("ALIAS#")
                tables.setdefault(name, []).append(row)
        return tables

    def erase_history(self, subject_ids: set[str]) -> int:
        """Interactions and exposures only (consent, links stay)."""
        keys = [{"pk": i["pk"], "sk": i["sk"]} for s in subject_ids for i in self.table.query("pk", _pk(s))
                if i["sk"].startswith(("EVENT#", "SHOWN#"))]
        return self.table.delete_many(keys)

    def erase(self, subject_ids: set[str]) -> int:
        keys = [{"pk": i["pk"], "sk": i["sk"]} for s in subject_ids for i in self.table.query("pk", _pk(s))]
        return self.table.delete_many(keys)


def _consent(item: dict[str, Any]) -> ConsentState:
    return ConsentState.model_validate(item)


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal: make them JSON-friendly."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@settings.per_container
def recommend_store() -> RecommendStore:
    return RecommendStore(DynamoTable(settings.load(TableSettings).recommend_table_name))
