"""Sufficient statistics from per-unit outcomes: the cell deltas always sum to Σy and Σy²."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from functions.results import aggregation
from functions.results.aggregation import ALL, UnitOutcome
from shared.exposures import ExposureContext, ExposureLogged

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_cells_cross_every_dimension_with_wildcards():
    exposure = ExposureLogged(experiment="hero", variant="warm", variant_index=1, unit_id="u", exposed_at=T0,
                              segments=["rfm:champions", "lifecycle:active"], context=ExposureContext(device="mobile", market="DE"))
    cells = aggregation.cells_of(exposure)
    assert len(cells) == 3 * 2 * 2 * 1 and ALL in cells
    assert "segment=rfm:champions|device=mobile|market=DE|source=*" in cells
    assert aggregation.parse_cell(cells[-1]) == {"segment": "rfm:champions", "device": "mobile", "market": "DE", "source": "*"}


def test_deltas_keep_sums_of_squares_exact_over_many_orders():
    outcome = UnitOutcome(variant="a", exposed_at=T0, cells=(ALL,))
    totals: dict[str, Decimal] = {}
    for value in ("10.50", "4.50", "85.00"):
        outcome, deltas = aggregation.conversion(outcome, Decimal(value))
        for name, delta in deltas.items():
            totals[name] = totals.get(name, Decimal(0)) + delta
    assert totals["conv"] == 1 and totals["ord"] == 3 and totals["ord2"] == 9
    assert totals["rev"] == Decimal("100.00") and totals["rev2"] == Decimal("100.00") ** 2
    assert totals["revord"] == Decimal("300.00") and outcome.version == 3


def test_attribution_window():
    outcome = UnitOutcome(variant="a", exposed_at=T0, cells=(ALL,))
    week = timedelta(days=7)
    assert aggregation.attributable(outcome, T0 + timedelta(days=6), week)
    assert not aggregation.attributable(outcome, T0 - timedelta(minutes=1), week)  # before the exposure
    assert not aggregation.attributable(outcome, T0 + timedelta(days=8), week)


def test_engagement_and_returns():
    outcome = UnitOutcome(variant="a", exposed_at=T0, cells=(ALL,))
    same_day, deltas = aggregation.interaction(outcome, T0 + timedelta(hours=2), timedelta(days=7), from_recommendation=False)
    assert deltas == {} and same_day is outcome  # a visit on the day of exposure is not a return
    clicked, deltas = aggregation.interaction(outcome, T0 + timedelta(hours=2), timedelta(days=7), from_recommendation=True)
    assert deltas == {"eng": 1, "eng2": 1}
    back, deltas = aggregation.interaction(clicked, T0 + timedelta(days=3), timedelta(days=7), from_recommendation=True)
    assert deltas == {"eng": 1, "eng2": 3, "ret": 1} and back.returned == 1


def test_late_conversions_are_the_ones_an_exposure_delivered_after_them_would_have_counted():
    from functions.results.aggregation import Conversion, late_conversions

    exposed = datetime(2026, 11, 20, 12, tzinfo=UTC)
    received = [Conversion(f"c{n}", exposed + timedelta(days=d), Decimal(n)) for n, d in enumerate((3, -1, 0, 8, 1))]
    assert [c.event_id for c in late_conversions(received, exposed, timedelta(days=7))] == ["c2", "c4", "c0"]
