"""Applying a whole SQS batch of aggregation changes: each cell written once per
transaction, every event exactly once.

Records are planned in order against an in-memory view of the unit outcomes they touch
(so two events of one unit in a batch see each other), then written in DynamoDB
transactions of at most 100 items: a marker per (event, experiment), the newest
outcome of each unit touched (conditional on the version read) and ONE counter update
per cell with the deltas of every change in it summed. A transaction that fails (an event
applied already, or a concurrent change) is replayed change by change; a change that still
cannot be applied fails its message, and every later change of the same unit's outcome
with it, so SQS redelivers them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.results.aggregation import Conversion, UnitOutcome
from functions.results.store import MARKER_KEPT, ResultsStore, outcome_item
from shared.aws.dynamodb import Add, Put

MAX_ITEMS = 100  # DynamoDB's limit per TransactWriteItems

Key = tuple[str, str]  # (unit, experiment)


@dataclass
class Change:
    message_id: str
    event_id: str
    unit: str
    experiment: str
    old: UnitOutcome | None
    new: UnitOutcome
    deltas: dict[str, Decimal]

    @property
    def key(self) -> Key:
        return (self.unit, self.experiment)


@dataclass
class _Group:
    changes: list[Change] = field(default_factory=list)
    first_old: dict[Key, UnitOutcome | None] = field(default_factory=dict)
    latest: dict[Key, UnitOutcome] = field(default_factory=dict)
    cells: dict[tuple[str, str, str], dict[str, Decimal]] = field(default_factory=dict)

    def size_with(self, change: Change) -> int:
        new_cells = {(change.experiment, c, change.new.variant) for c in change.new.cells if change.deltas} - set(self.cells)
        return len(self.changes) + 1 + len(set(self.latest) | {change.key}) + len(self.cells) + len(new_cells)

    def add(self, change: Change) -> None:
        self.changes.append(change)
        self.first_old.setdefault(change.key, change.old)
        self.latest[change.key] = change.new
        for cell in change.new.cells if change.deltas else ():
            summed = self.cells.setdefault((change.experiment, cell, change.new.variant), defaultdict(Decimal))
            for name, value in change.deltas.items():
                summed[name] += value


class BatchPlan:
    def __init__(self, store: ResultsStore) -> None:
        self.store = store
        self.changes: list[Change] = []
        self._outcomes: dict[Key, UnitOutcome] = {}
        self._loaded: set[str] = set()
        self._processed: set[tuple[str, str]] = set()  # (event, experiment) planned in this batch
        self.segments: dict[str, list[str]] = {}  # ProfileUpdated of the batch, written together
        self.received: dict[str, list[Conversion]] = {}  # the batch's conversions per unit, kept before the flush
        self._conversions: dict[str, list[Conversion]] = {}

    def outcomes(self, unit_ids: list[str | None]) -> dict[Key, UnitOutcome]:
        """The current outcomes of these units, as the batch has changed them so far."""
        wanted = [u for u in dict.fromkeys(unit_ids) if u]
        missing = [u for u in wanted if u not in self._loaded]
        if missing:
            self._outcomes.update(self.store.outcomes(missing))
            self._loaded.update(missing)
        return {key: outcome for key, outcome in self._outcomes.items() if key[0] in wanted}

    def conversions(self, unit: str) -> list[Conversion]:
        """The unit's conversions received so far (stored, and earlier in this batch)."""
        if unit not in self._conversions:
            self._conversions[unit] = self.store.conversions(unit)
        return self._conversions[unit] + self.received.get(unit, [])

    def receive(self, unit: str, conversion: Conversion) -> None:
        received = self.received.setdefault(unit, [])
        if conversion not in received:  # the same message twice in a batch: one item (BatchWriteItem refuses duplicates)
            received.append(conversion)

    def change(self, message_id: str, event_id: str, unit: str, experiment: str, old: UnitOutcome | None,
               new: UnitOutcome, deltas: dict[str, Decimal]) -> None:
        if (event_id, experiment) in self._processed:
            # The same message twice in a batch, or a person exposed under both of their ids:
            # one event changes one outcome per experiment (markers carry no unit ids).
            return
        self._processed.add((event_id, experiment))
        self.changes.append(Change(message_id, event_id, unit, experiment, old, new, deltas))
        self._outcomes[(unit, experiment)] = new

    def flush(self, now: datetime) -> set[str]:
        """Write every planned change; returns the message ids that must be retried."""
        failed_messages: set[str] = set()
        failed_keys: set[Key] = set()
        for group in self._groups():
            if not failed_keys & set(group.latest) and self.store.table.transact(self._actions(group, now)):
                continue
            for change in group.changes:  # replay one by one: duplicates skip, conflicts fail alone
                if change.key in failed_keys:
                    failed_messages.add(change.message_id)
                    continue
                try:
                    self.store.apply(change.event_id, change.unit, change.experiment, change.old, change.new, change.deltas, now)
                except Exception:  # noqa: BLE001 - reported per message; SQS redelivers it
                    failed_keys.add(change.key)
                    failed_messages.add(change.message_id)
        return failed_messages

    def _groups(self) -> list[_Group]:
        groups, current = [], _Group()
        for change in self.changes:
            if current.changes and current.size_with(change) > MAX_ITEMS:
                groups.append(current)
                current = _Group()
            current.add(change)
        return [*groups, current] if current.changes else groups

    def _actions(self, group: _Group, now: datetime) -> list[Any]:
        expires = int((now + MARKER_KEPT).timestamp())
        actions: list[Any] = [Put({"pk": f"EVENT#{c.event_id}", "sk": c.experiment, "expires_at": expires},
                                  only_if_absent=True) for c in group.changes]
        for key, new in group.latest.items():
            old = group.first_old[key]
            actions.append(Put(outcome_item(key[0], key[1], new), only_if_absent=old is None,
                               if_version=("version", old.version) if old else None))
        actions += [Add({"pk": f"CELLS#{experiment}", "sk": f"{cell}#{variant}"}, dict(deltas))
                    for (experiment, cell, variant), deltas in group.cells.items()]
        return actions
