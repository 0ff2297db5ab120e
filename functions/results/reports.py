"""From cell counters to what a marketer reads: per metric and cell, the statistics of
every variant against the control, corrections for multiple testing, the SRM check and a
plain-language verdict (pure; the numbers come from statistics.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from functions.results import statistics
from functions.results.aggregation import ALL, parse_cell

# Each metric as the statistics module reads it: its type and the counters it is made of.
METRICS: dict[str, tuple[str, dict[str, str]]] = {
    "conversion_rate": ("proportion", {"sum": "conv", "sum_squares": "conv"}),
    "revenue_per_visitor": ("mean", {"sum": "rev", "sum_squares": "rev2"}),
    "average_order_value": ("ratio", {"sum_num": "rev", "sum_den": "ord", "sum_num2": "rev2", "sum_den2": "ord2", "sum_num_den": "revord"}),
    "retention": ("proportion", {"sum": "ret", "sum_squares": "ret"}),
    "engagement": ("mean", {"sum": "eng", "sum_squares": "eng2"}),
}
LABELS = {"conversion_rate": "conversion", "revenue_per_visitor": "revenue per visitor",
          "average_order_value": "average order value", "retention": "retention", "engagement": "recommendation clicks"}
BREAKDOWN_DIMENSIONS = ("segment", "device", "market", "source")


@dataclass(frozen=True)
class VariantCounters:
    name: str
    weight: float
    counters: dict[str, float]


# CUPED reads the pre-exposure spend against revenue per visitor (the metric it predicts).
CUPED_FIELDS = {"sum_x": "cx", "sum_x2": "cx2", "sum_xy": "cxy"}


def payload(metric: str, engine: str, alpha: float, variants: list[VariantCounters], *, cuped: bool = False) -> dict[str, Any]:
    metric_type, fields = METRICS[metric]
    if cuped and metric == "revenue_per_visitor" and all(v.counters.get("cx2", 0) > 0 for v in variants):
        fields = {**fields, **CUPED_FIELDS}
    return {
        "metric": {"type": metric_type}, "engine": engine, "alpha": alpha,
        "expected_weights": [v.weight for v in variants],
        "variants": [{"name": v.name, "n": int(v.counters.get("n", 0)),
                      **{field: float(v.counters.get(counter, 0)) for field, counter in fields.items()}} for v in variants],
    }


def analyzable(metric: str, variants: list[VariantCounters], min_units: int) -> str | None:
    """Why a cell cannot be analysed yet (None when it can)."""
    if any(v.counters.get("n", 0) < max(min_units, 2) for v in variants):
        return f"fewer than {min_units} units in a variant"
    if METRICS[metric][0] == "ratio" and any(v.counters.get("ord", 0) <= 0 for v in variants):
        return "no orders yet in a variant"
    return None


def by_cell(items: list[dict[str, Any]], arms: list[tuple[str, float]], dimensions: tuple[str, ...]) -> dict[str, list[VariantCounters]]:
    """Counters of the cells that break down exactly by `dimensions` (the others `*`), per variant in arm order."""
    cells: dict[str, dict[str, dict[str, float]]] = {}
    for item in items:
        cell, variant = item["sk"].rsplit("#", 1)
        parsed = parse_cell(cell)
        if all((parsed[d] != "*") == (d in dimensions) for d in BREAKDOWN_DIMENSIONS):
            cells.setdefault(cell, {})[variant] = {k: float(v) for k, v in item.items() if k not in ("pk", "sk")}
    return {cell: [VariantCounters(name, weight, found.get(name, {})) for name, weight in arms] for cell, found in sorted(cells.items())}


def correct(p_values: list[float | None], method: str) -> list[float | None]:
    """Holm or Benjamini-Hochberg across every comparison shown (variants x cells)."""
    known = [i for i, p in enumerate(p_values) if p is not None]
    if not known or method == "none":
        return p_values
    adjust = statistics.holm if method == "holm" else statistics.benjamini_hochberg
    adjusted = adjust(np.array([p_values[i] for i in known]))
    out = list(p_values)
    for i, value in zip(known, adjusted):
        out[i] = float(value)
    return out


def verdict(metric: str, engine: str, alpha: float, result: dict[str, Any] | None, why_not: str | None,
            days_more: int | None) -> str:
    label = LABELS[metric]
    if result is None:
        more = f": about {days_more} more days at the current traffic" if days_more else ""
        return f"Not enough data ({why_not}){more}."
    if result["srm_flag"]:
        return (f"Sample ratio mismatch (p = {result['srm_p_value']:.2g}): the split is not the configured one; "
                "fix the assignment before reading these results.")
    lines = []
    for variant in result["variants"]:
        lift, (low, high) = variant["lift"], variant["ci"]
        interval = f"{_pct(lift)} [{_pct(low)}, {_pct(high)}]"
        if engine == "bayesian":
            decided = variant["chance_to_win"] is not None and max(variant["chance_to_win"], 1 - variant["chance_to_win"]) >= 1 - alpha
        else:
            p = variant.get("adjusted_p_value", variant["p_value"])
            decided = p is not None and p < alpha
        if decided:
            lines.append(f"{variant['name']} {'wins' if lift > 0 else 'loses'} on {label}, {interval}")
        else:
            more = f"; about {days_more} more days to detect a lift this size" if days_more else ""
            lines.append(f"{variant['name']}: no clear difference on {label} yet, {interval}{more}")
    return "; ".join(lines) + "."


def days_to_detect(metric: str, control: VariantCounters, observed_lift: float | None, daily_units: float,
                   variants: int, alpha: float, elapsed_days: float) -> int | None:
    """More days needed to detect the observed lift (5 % when there is none) with 80 % power."""
    n = control.counters.get("n", 0)
    if n < 2 or daily_units <= 0 or METRICS[metric][0] == "ratio":
        return None
    metric_type, fields = METRICS[metric]
    mean = control.counters.get(fields["sum"], 0) / n
    lift = abs(observed_lift) if observed_lift else 0.05
    if mean <= 0 or lift == 0:
        return None
    if metric_type == "proportion":
        if not 0 < mean < 1:
            return None
        baseline = statistics.Baseline.rate(mean)
    else:
        variance = max(control.counters.get(fields["sum_squares"], 0) / n - mean**2, 1e-12) * n / (n - 1)
        baseline = statistics.Baseline(mean, variance)
    total = statistics.days_for_mde(baseline, lift, daily_units, variants, alpha)
    return max(1, math.ceil(total - elapsed_days))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f}%"


def whole_experiment(items: list[dict[str, Any]], arms: list[tuple[str, float]]) -> list[VariantCounters]:
    return by_cell(items, arms, ())[ALL] if any(i["sk"].startswith(ALL + "#") for i in items) else \
        [VariantCounters(name, weight, {}) for name, weight in arms]
