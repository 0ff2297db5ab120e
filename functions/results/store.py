"""The results table.

    pk EVENT#<event id>      sk <experiment>               processed marker (idempotency, TTL 14 days)
    pk UNIT#<unit>           sk EXPOSED#<experiment>       the unit's outcome (UnitOutcome)
                             sk CONVERSION#<event id>      a conversion received (for exposures delivered after it; TTL 30 days)
    pk CELLS#<experiment>    sk <cell>#<variant>           sufficient statistics of the cell
    pk EXPERIMENT#<key>      sk DEFINITION                 ExperimentChanged projection
                             sk CONCLUSION                 the analyst's conclusion
    pk HISTORY#<key>         sk <date>                     that day's whole-experiment counters
    pk UNIT#<id>             sk LINKED_TO, ALIAS#<id>      identity links (shared/identity_links.py)
                             sk SEGMENTS                   the unit's segments (ProfileUpdated): program traffic per segment

The program's KPIs against the global holdout use the same machinery under the
experiment key `_program` (variants `holdout`, `program`; never a valid experiment key).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.results.aggregation import Conversion, UnitOutcome
from functions.results.settings import TableSettings
from shared import settings
from shared.aws.dynamodb import Add, DynamoTable, Put
from shared.exposures import ExperimentChanged
from shared.identity_links import IdentityLinks

MARKER_KEPT = timedelta(days=14)  # SQS keeps a message 14 days at most: no redelivery comes later
# Longer than an exposure can wait in its queue (4 days) and then its DLQ (14 days).
CONVERSIONS_KEPT = timedelta(days=30)


def _unit(unit_id: str) -> str:
    return f"UNIT#{unit_id}"


class ResultsStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self.links = IdentityLinks(table, "UNIT#")

    # ------------------------------------------------------------ aggregation
    def outcomes(self, unit_ids: list[str]) -> dict[tuple[str, str], UnitOutcome]:
        """{(unit, experiment): outcome} of every experiment the units were exposed to."""
        found = {}
        for unit in dict.fromkeys(u for u in unit_ids if u):
            for item in self.table.query("pk", _unit(unit), sort_key_prefix="EXPOSED#"):
                found[(unit, item["sk"].removeprefix("EXPOSED#"))] = _outcome(item)
        return found

    def apply(self, event_id: str, unit_id: str, experiment: str, old: UnitOutcome | None, new: UnitOutcome,
              deltas: dict[str, Decimal], now: datetime) -> bool:
        """Record one unit's new outcome and add the deltas to each of its cells, all or
        nothing, once per event. False when this event was applied already."""
        marker = {"pk": f"EVENT#{event_id}", "sk": experiment}  # no unit id: markers outlive an erasure
        actions = [
            Put({**marker, "expires_at": int((now + MARKER_KEPT).timestamp())}, only_if_absent=True),
            Put(outcome_item(unit_id, experiment, new), if_version=("version", old.version) if old else None, only_if_absent=old is None),
            *(Add({"pk": f"CELLS#{experiment}", "sk": f"{cell}#{new.variant}"}, deltas) for cell in new.cells if deltas),
        ]
        if self.table.transact(actions):
            return True
        if self.table.get(marker, consistent=True):
            return False  # a redelivery: counted already
        raise RuntimeError(f"outcome of {experiment} changed concurrently; the message will be retried")

    def record_conversions(self, conversions: dict[str, list[Conversion]], now: datetime) -> int:
        """Keep each unit's conversions (idempotent: one item per event)."""
        expires = int((now + CONVERSIONS_KEPT).timestamp())
        return self.table.put_many(
            {"pk": _unit(unit), "sk": f"CONVERSION#{c.event_id}", "occurred_at": c.occurred_at.isoformat(), "value": c.value,
             "expires_at": expires}
            for unit, received in conversions.items() for c in received
        )

    def conversions(self, unit_id: str) -> list[Conversion]:
        return [Conversion(event_id=i["sk"].removeprefix("CONVERSION#"), occurred_at=datetime.fromisoformat(i["occurred_at"]),
                           value=Decimal(i["value"])) for i in self.table.query("pk", _unit(unit_id), sort_key_prefix="CONVERSION#")]

    def cells(self, experiment: str) -> list[dict[str, Any]]:
        return self.table.query("pk", f"CELLS#{experiment}")

    # ------------------------------------------------------------ definitions
    def set_definition(self, changed: ExperimentChanged) -> bool:
        return self.table.put_if_newer({"pk": f"EXPERIMENT#{changed.key}", "sk": "DEFINITION", "version": changed.version,
                                        "definition": changed.model_dump_json()}, "version")

    def definition(self, key: str) -> ExperimentChanged | None:
        item = self.table.get({"pk": f"EXPERIMENT#{key}", "sk": "DEFINITION"})
        return ExperimentChanged.model_validate_json(item["definition"]) if item else None

    def definitions(self) -> list[ExperimentChanged]:
        return [ExperimentChanged.model_validate_json(i["definition"]) for i in self.table.scan() if i["sk"] == "DEFINITION"]

    # ------------------------------------------------------------ conclusions and daily history
    def set_conclusion(self, key: str, conclusion: dict[str, Any]) -> None:
        self.table.put({"pk": f"EXPERIMENT#{key}", "sk": "CONCLUSION", "conclusion": json.dumps(conclusion)})

    def conclusion(self, key: str) -> dict[str, Any] | None:
        item = self.table.get({"pk": f"EXPERIMENT#{key}", "sk": "CONCLUSION"})
        return json.loads(item["conclusion"]) if item else None

    def snapshot(self, key: str, day: str, items: list[dict[str, Any]]) -> None:
        """The whole-experiment counters of one day, kept so trends can be charted."""
        self.table.put({"pk": f"HISTORY#{key}", "sk": day, "cells": json.dumps(
            [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in i.items()} for i in items])})

    def history(self, key: str) -> list[tuple[str, list[dict[str, Any]]]]:
        return [(i["sk"], json.loads(i["cells"])) for i in self.table.query("pk", f"HISTORY#{key}")]

    def program_started(self) -> datetime | None:
        item = self.table.get({"pk": "PROGRAM", "sk": "STARTED"})
        return datetime.fromisoformat(item["at"]) if item else None

    def mark_program_started(self, at: datetime) -> None:
        """The first visit ever counted (the base of the program's daily traffic)."""
        self.table.put_if_absent({"pk": "PROGRAM", "sk": "STARTED", "at": at.isoformat()})

    # ------------------------------------------------------------ segments (ProfileUpdated)
    def set_segments_of(self, segments_by_unit: dict[str, list[str]]) -> int:
        return self.table.put_many({"pk": _unit(u), "sk": "SEGMENTS", "segments": s} for u, s in segments_by_unit.items())

    def segments(self, unit_id: str) -> list[str]:
        item = self.table.get({"pk": _unit(unit_id), "sk": "SEGMENTS"})
        return list(item["segments"]) if item else []

    # ------------------------------------------------------------ backlog
    def add_backlog_item(self, item: dict[str, Any]) -> None:
        self.table.put({"pk": "BACKLOG", "sk": item["item_id"], "item": json.dumps(item)})

    def backlog_items(self) -> list[dict[str, Any]]:
        return [json.loads(i["item"]) for i in self.table.query("pk", "BACKLOG")]

    # ------------------------------------------------------------ privacy
    def subject_export(self, subject_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
        rows, conversions = [], []
        for subject in sorted(subject_ids):
            for item in self.table.query("pk", _unit(subject), sort_key_prefix="EXPOSED#"):
                outcome = _outcome(item)
                rows.append({"unit_id": subject, "experiment": item["sk"].removeprefix("EXPOSED#"), "variant": outcome.variant,
                             "exposed_at": outcome.exposed_at.isoformat(), "converted": outcome.converted,
                             "revenue": float(outcome.revenue), "orders": outcome.orders, "returned": outcome.returned})
            conversions += [{"unit_id": subject, "occurred_at": c.occurred_at.isoformat(), "value": float(c.value)}
                            for c in self.conversions(subject)]
        return {k: v for k, v in (("experiment_outcomes", rows), ("recent_conversions", conversions)) if v}

    def erase(self, subject_ids: set[str]) -> int:
        """The units' own records; the cell counters are anonymous sums and stay."""
        return self.table.delete_many({"pk": i["pk"], "sk": i["sk"]} for s in subject_ids for i in self.table.query("pk", _unit(s)))


def outcome_item(unit_id: str, experiment: str, outcome: UnitOutcome) -> dict[str, Any]:
    values = asdict(outcome)
    return {"pk": _unit(unit_id), "sk": f"EXPOSED#{experiment}", **values, "exposed_at": outcome.exposed_at.isoformat(),
            "cells": list(outcome.cells)}


def _outcome(item: dict[str, Any]) -> UnitOutcome:
    return UnitOutcome(
        variant=item["variant"], exposed_at=datetime.fromisoformat(item["exposed_at"]), cells=tuple(item["cells"]),
        converted=int(item["converted"]), revenue=Decimal(item["revenue"]), orders=int(item["orders"]),
        engaged=int(item["engaged"]), returned=int(item["returned"]), covariate=Decimal(item.get("covariate", 0)),
        version=int(item["version"]),
    )


@settings.per_container
def results_store() -> ResultsStore:
    return ResultsStore(DynamoTable(settings.load(TableSettings).results_table_name))
