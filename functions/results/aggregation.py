"""From exposures and behaviour to sufficient statistics per experiment × variant × cell (pure).

A unit's outcome in an experiment (converted, revenue, orders, recommendation clicks,
returned) is kept per unit; each change to it becomes *deltas* of the cell counters, so
that a cell always holds, over its units: n, Σy and Σy² for every metric, and for the
ratio metric (average order value = revenue / orders) Σrevenue·orders too. That is all
the statistics module needs (Welch, delta method, Bayesian, sequential). For CUPED each
unit also carries a pre-exposure covariate x, its spend before it was exposed (what the
program accounting saw of it since its first visit): cells keep Σx, Σx² and Σx·revenue.

Cells cross the breakdown dimensions: every combination of segment × device × market ×
traffic source where each is either the unit's value or `*` (all). A unit with two
segments counts in the cells of each. "segment=*|device=*|market=*|source=*" is the
whole experiment.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from shared.exposures import ExposureLogged

ALL = "segment=*|device=*|market=*|source=*"
DIMENSIONS = ("segment", "device", "market", "source")
COUNTERS = ("n", "conv", "rev", "rev2", "ord", "ord2", "revord", "eng", "eng2", "ret", "cx", "cx2", "cxy")
RETURN_AFTER = timedelta(days=1)  # a visit within a day of exposure is the same session, not a return
RECOMMENDATION_SOURCE = "recommendation"  # traffic_source the storefront sends on a click from a recommendation


def cell_key(segment: str = "*", device: str = "*", market: str = "*", source: str = "*") -> str:
    return f"segment={segment}|device={device}|market={market}|source={source}"


def cells_of(exposure: ExposureLogged) -> list[str]:
    """Every cell the unit counts in (wildcards included)."""
    context = exposure.context
    options = [
        ["*", *sorted(set(exposure.segments))],
        ["*", *([context.device] if context.device else [])],
        ["*", *([context.market] if context.market else [])],
        ["*", *([context.traffic_source] if context.traffic_source else [])],
    ]
    return [cell_key(*combo) for combo in itertools.product(*options)]


def parse_cell(key: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in key.split("|"))


@dataclass(frozen=True)
class UnitOutcome:
    """One unit's outcome in one experiment, since its exposure."""

    variant: str
    exposed_at: datetime
    cells: tuple[str, ...]
    converted: int = 0
    revenue: Decimal = Decimal(0)
    orders: int = 0
    engaged: int = 0
    returned: int = 0
    covariate: Decimal = Decimal(0)  # pre-exposure spend (CUPED)
    version: int = 0


@dataclass(frozen=True)
class Conversion:
    """A conversion as results received it, kept for a while per unit: an exposure that
    arrives after it (SQS does not keep order; a dead-lettered exposure is redriven days
    later) still counts it."""

    event_id: str
    occurred_at: datetime
    value: Decimal


def late_conversions(conversions: list[Conversion], exposed_at: datetime, window: timedelta) -> list[Conversion]:
    """The conversions received before an exposure that they are attributable to, oldest first."""
    return sorted((c for c in conversions if exposed_at <= c.occurred_at <= exposed_at + window), key=lambda c: c.occurred_at)


def exposure_deltas(covariate: Decimal = Decimal(0)) -> dict[str, Decimal]:
    deltas = {"n": Decimal(1)}
    if covariate:
        deltas.update(cx=covariate, cx2=covariate**2)
    return deltas


def attributable(outcome: UnitOutcome, occurred_at: datetime, window: timedelta) -> bool:
    """A conversion counts for a unit exposed before it, within the attribution window."""
    return outcome.exposed_at <= occurred_at <= outcome.exposed_at + window


def conversion(outcome: UnitOutcome, value: Decimal) -> tuple[UnitOutcome, dict[str, Decimal]]:
    """An order of `value`: the unit's new outcome and the cell deltas it causes."""
    new = replace(outcome, converted=1, revenue=outcome.revenue + value, orders=outcome.orders + 1, version=outcome.version + 1)
    return new, _deltas(outcome, new)


def interaction(outcome: UnitOutcome, occurred_at: datetime, window: timedelta, *, from_recommendation: bool) -> tuple[UnitOutcome, dict[str, Decimal]]:
    """A later visit: a click on a recommendation counts as engagement; any visit after the
    first day (within the window) as a return."""
    new = outcome
    if from_recommendation:
        new = replace(new, engaged=new.engaged + 1)
    if outcome.exposed_at + RETURN_AFTER <= occurred_at <= outcome.exposed_at + window:
        new = replace(new, returned=1)
    if new == outcome:
        return outcome, {}
    new = replace(new, version=outcome.version + 1)
    return new, _deltas(outcome, new)


def _deltas(old: UnitOutcome, new: UnitOutcome) -> dict[str, Decimal]:
    """Changes of n·mean-style sums: Σy and Σy² move by the change of y and of y²."""
    deltas = {
        "conv": Decimal(new.converted - old.converted),
        "rev": new.revenue - old.revenue,
        "rev2": new.revenue**2 - old.revenue**2,
        "ord": Decimal(new.orders - old.orders),
        "ord2": Decimal(new.orders**2 - old.orders**2),
        "revord": new.revenue * new.orders - old.revenue * old.orders,
        "eng": Decimal(new.engaged - old.engaged),
        "eng2": Decimal(new.engaged**2 - old.engaged**2),
        "ret": Decimal(new.returned - old.returned),
        "cxy": new.covariate * (new.revenue - old.revenue),
    }
    return {name: value for name, value in deltas.items() if value}
