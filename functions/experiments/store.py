"""The experiments table.

    pk EXPERIMENTS   sk <key>                   an experiment (ExperimentView as JSON, version)
    pk UNIT#<id>     sk CONSENT                 projection of ConsentChanged
                     sk LINKED_TO               anonymous unit -> customer id
                     sk ALIAS#<anonymous id>    customer -> its anonymous ids
                     sk SEGMENTS                the unit's segments (ProfileUpdated), for targeting
                     sk ASSIGN#<experiment>     the variant recorded at first exposure (sticky)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.experiments.schemas import ExperimentView
from functions.experiments.settings import TableSettings
from shared import settings
from shared.aws.dynamodb import DynamoTable
from shared.identity_links import IdentityLinks
from shared.consent import ConsentChanged
from shared.errors import Conflict

EXPERIMENTS_PK = "EXPERIMENTS"


def _unit(unit_id: str) -> str:
    return f"UNIT#{unit_id}"


class ExperimentsStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self.links = IdentityLinks(table, "UNIT#")

    # ------------------------------------------------------------ definitions
    def create(self, experiment: ExperimentView) -> None:
        if not self.table.put_if_absent(self._item(experiment)):
            raise Conflict(f"An experiment with key {experiment.key!r} exists; keys are never reused.", code="duplicate_key")

    def replace(self, experiment: ExperimentView) -> None:
        """Store a changed experiment (its version one above the one read) unless someone
        else stored that version first."""
        if not self.table.put_if_newer(self._item(experiment), "version"):
            raise Conflict(f"Experiment {experiment.key!r} changed meanwhile; read it again.", code="concurrent_change")

    def get(self, key: str) -> ExperimentView | None:
        item = self.table.get({"pk": EXPERIMENTS_PK, "sk": key}, consistent=True)
        return ExperimentView.model_validate_json(item["experiment"]) if item else None

    def all(self) -> list[ExperimentView]:
        return [ExperimentView.model_validate_json(i["experiment"]) for i in self.table.query("pk", EXPERIMENTS_PK)]

    @staticmethod
    def _item(experiment: ExperimentView) -> dict[str, Any]:
        return {"pk": EXPERIMENTS_PK, "sk": experiment.key, "experiment": experiment.model_dump_json(), "version": experiment.version}

    # ------------------------------------------------------------ units (request path)
    def unit_state(self, user_id: str | None, anonymous_id: str | None) -> tuple[str, dict[str, ConsentChanged], list[str]]:
        """The unit to hash (customer once known), consent states by id, and the unit's segments."""
        keys = [{"pk": _unit(i), "sk": "CONSENT"} for i in (user_id, anonymous_id) if i]
        if user_id:
            keys.append({"pk": _unit(user_id), "sk": "SEGMENTS"})
        elif anonymous_id:
            keys.append({"pk": _unit(anonymous_id), "sk": "LINKED_TO"})
        found = self.table.get_many(keys)
        linked = next((f["customer_id"] for f in found if f["sk"] == "LINKED_TO"), None)
        unit = user_id or linked or anonymous_id
        extra = [{"pk": _unit(unit), "sk": sk} for sk in ("CONSENT", "SEGMENTS")] if linked else []
        found += self.table.get_many(extra) if extra else []
        consents = {f["pk"].removeprefix("UNIT#"): ConsentChanged.model_validate_json(f["state"]) for f in found if f["sk"] == "CONSENT"}
        segments = next((list(f["segments"]) for f in found if f["sk"] == "SEGMENTS" and f["pk"] == _unit(unit)), [])
        return unit, consents, segments

    def recorded(self, unit_id: str) -> dict[str, int]:
        items = self.table.query("pk", _unit(unit_id), sort_key_prefix="ASSIGN#")
        return {i["sk"].removeprefix("ASSIGN#"): int(i["variant_index"]) for i in items}

    def record(self, unit_id: str, experiment: str, variant: str, index: int, at: datetime) -> bool:
        """Record the first exposure; False when one was recorded already (a retry, another container)."""
        return self.table.put_if_absent({"pk": _unit(unit_id), "sk": f"ASSIGN#{experiment}", "variant": variant,
                                         "variant_index": index, "at": at.isoformat()})

    # ------------------------------------------------------------ event consumers
    def set_consent(self, changed: ConsentChanged) -> bool:
        return self.table.put_if_newer({"pk": _unit(changed.subject_id), "sk": "CONSENT", "state": changed.model_dump_json(),
                                        "changed_at": changed.changed_at.isoformat()}, "changed_at")

    def set_segments_of(self, segments_by_unit: dict[str, list[str]]) -> int:
        return self.table.put_many({"pk": _unit(u), "sk": "SEGMENTS", "segments": s} for u, s in segments_by_unit.items())

    def link(self, anonymous_id: str, customer_id: str) -> int:
        """The visitor identified. Documented rule: the customer keeps the variants the visitor
        saw, except where the customer already had one (from another device): theirs wins.
        Returns how many assignments carried over."""
        self.links.link(anonymous_id, customer_id)
        visitor = [i for i in self.table.query("pk", _unit(anonymous_id), sort_key_prefix="ASSIGN#")]
        moved = sum(self.table.put_if_absent({**i, "pk": _unit(customer_id)}) for i in visitor)
        self.table.delete_many({"pk": i["pk"], "sk": i["sk"]} for i in visitor)
        return moved

    # ------------------------------------------------------------ privacy
    def identifiers(self, subject_id: str) -> set[str]:
        return self.links.identifiers(subject_id)

    def subject_export(self, subject_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
        tables: dict[str, list[dict[str, Any]]] = {}
        for subject in sorted(subject_ids):
            for item in self.table.query("pk", _unit(subject)):
                sk = item["sk"]
                if sk.startswith("ASSIGN#"):
                    tables.setdefault("assignments", []).append(
                        {"unit_id": subject, "experiment": sk.removeprefix("ASSIGN#"), "variant": item["variant"], "first_exposed_at": item["at"]})
                elif sk == "SEGMENTS":
                    tables.setdefault("targeting_segments", []).append({"unit_id": subject, "segments": list(item["segments"])})
                elif sk == "CONSENT":
                    tables.setdefault("consent_projection", []).append({"unit_id": subject, **ConsentChanged.model_validate_json(item["state"]).model_dump(mode="json")})
                else:
                    tables.setdefault("identity_links", []).append({"unit_id": subject, "link": sk})
        return tables

    def erase(self, subject_ids: set[str]) -> int:
        return self.table.delete_many({"pk": i["pk"], "sk": i["sk"]} for s in subject_ids for i in self.table.query("pk", _unit(s)))


@settings.per_container
def experiments_store() -> ExperimentsStore:
    return ExperimentsStore(DynamoTable(settings.load(TableSettings).experiments_table_name))
