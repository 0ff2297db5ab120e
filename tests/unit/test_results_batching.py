"""A batch's changes are written in transactions of at most 100 items, each cell once per
transaction, and failures are replayed change by change."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from functions.results import aggregation
from functions.results.aggregation import UnitOutcome
from functions.results.batching import MAX_ITEMS, BatchPlan
from shared.exposures import ExposureContext, ExposureLogged

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


class FakeTable:
    def __init__(self, fail_first: bool = False) -> None:
        self.transactions: list[list] = []
        self.fail_first = fail_first

    def transact(self, actions) -> bool:
        self.transactions.append(actions)
        return not (self.fail_first and len(self.transactions) == 1)


class FakeStore:
    def __init__(self, table: FakeTable) -> None:
        self.table, self.applied = table, []

    def outcomes(self, units):
        return {}

    def apply(self, event_id, unit, experiment, old, new, deltas, now):
        if unit == "u-conflict":
            raise RuntimeError("concurrent change")
        self.applied.append((event_id, unit))
        return True


def _exposures(plan: BatchPlan, count: int, unit_prefix: str = "u") -> None:
    for n in range(count):
        exposure = ExposureLogged(experiment="hero", variant="ab"[n % 2], variant_index=n % 2, unit_id=f"{unit_prefix}{n}",
                                  exposed_at=NOW, context=ExposureContext(device=("mobile", "desktop")[n % 2]))
        outcome = UnitOutcome(variant=exposure.variant, exposed_at=NOW, cells=tuple(aggregation.cells_of(exposure)))
        plan.change(f"m{n}", f"e{n}", exposure.unit_id, "hero", None, outcome, aggregation.exposure_deltas())


def test_a_100_event_batch_touches_each_cell_once_per_transaction():
    table = FakeTable()
    plan = BatchPlan(FakeStore(table))
    _exposures(plan, 100)
    assert plan.flush(NOW) == set()
    assert all(len(t) <= MAX_ITEMS for t in table.transactions)
    for transaction in table.transactions:
        cells = Counter(a.key["sk"] for a in transaction if hasattr(a, "counters"))
        assert cells and max(cells.values()) == 1
    written = Counter()
    for transaction in table.transactions:
        for action in transaction:
            if hasattr(action, "counters"):
                written[action.key["sk"]] += action.counters["n"]
    # 4 cells per unit (device and wildcards x 2 variants): every unit counted once in total.
    assert written["segment=*|device=*|market=*|source=*#a"] == 50 and written["segment=*|device=mobile|market=*|source=*#a"] == 50
    assert len(table.transactions) == 3  # 100 markers + 100 outcomes + 4 cells need three transactions, not a hundred


def test_two_events_of_one_unit_in_a_batch_see_each_other():
    plan = BatchPlan(FakeStore(FakeTable()))
    start = UnitOutcome(variant="a", exposed_at=NOW, cells=(aggregation.ALL,))
    plan.change("m0", "e0", "u", "hero", None, start, aggregation.exposure_deltas())
    first = plan.outcomes(["u"])[("u", "hero")]
    new, deltas = aggregation.conversion(first, Decimal("10"))
    plan.change("m1", "e1", "u", "hero", first, new, deltas)
    assert plan.outcomes(["u"])[("u", "hero")].revenue == Decimal("10")
    plan.change("m1", "e1", "u", "hero", first, new, deltas)  # the same message again in the batch
    assert len(plan.changes) == 2


def test_a_failed_transaction_is_replayed_change_by_change_and_only_conflicts_fail():
    table = FakeTable(fail_first=True)
    store = FakeStore(table)
    plan = BatchPlan(store)
    for n, unit in enumerate(["u0", "u-conflict", "u2"]):
        outcome = UnitOutcome(variant="a", exposed_at=NOW, cells=(aggregation.ALL,))
        plan.change(f"m{n}", f"e{n}", unit, "hero", None, outcome, aggregation.exposure_deltas())
    assert plan.flush(NOW) == {"m1"}  # only the conflicting change's message is retried
    assert store.applied == [("e0", "u0"), ("e2", "u2")]


def test_conversions_received_twice_in_a_batch_are_kept_once_and_seen_by_later_exposures():
    store = FakeStore(FakeTable())
    store.conversions = lambda unit: [aggregation.Conversion("c-stored", NOW, Decimal(5))]
    plan = BatchPlan(store)
    arrived = aggregation.Conversion("c-1", NOW, Decimal(20))
    plan.receive("u-1", arrived)
    plan.receive("u-1", arrived)  # the same message delivered twice
    assert plan.received == {"u-1": [arrived]}
    assert [c.event_id for c in plan.conversions("u-1")] == ["c-stored", "c-1"]
