"""The results and program reports, from the store's counters (reports.py does the reading)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from functions.results import reports, statistics
from functions.results.aggregation import ALL, cell_key
from functions.results.schemas import (
    Analysis,
    Backlog,
    BacklogItem,
    BacklogItemIn,
    ArmResult,
    CellResult,
    ExperimentResults,
    HistoryPoint,
    KpiRow,
    Plan,
    PlanQuery,
    ProgramKpis,
    StoredConclusion,
)
from functions.results.store import ResultsStore
from shared.errors import BadRequest, NotFound

PROGRAM = "_program"
PROGRAM_METRICS = ("conversion_rate", "average_order_value", "revenue_per_visitor", "retention")


def _analysis(result: dict[str, Any]) -> Analysis:
    return Analysis(control=ArmResult(**result["control"]), variants=[ArmResult(**v) for v in result["variants"]],
                    srm_p_value=result["srm_p_value"], srm_flag=result["srm_flag"])


def _analyse(metric: str, engine: str, alpha: float, arms: list[reports.VariantCounters], min_units: int,
             cuped: bool = False) -> tuple[dict | None, str | None]:
    why_not = reports.analyzable(metric, arms, min_units)
    if why_not:
        return None, why_not
    try:
        return statistics.analyze(reports.payload(metric, engine, alpha, arms, cuped=cuped)), None
    except statistics.StatisticsInputError as exc:  # counters that cannot be read yet (e.g. no variance)
        return None, str(exc)


def breakdown_dimensions(breakdown: str | None) -> tuple[str, ...]:
    if not breakdown:
        return ()
    names = tuple(dict.fromkeys(d.strip().replace("traffic_source", "source") for d in breakdown.split(",") if d.strip()))
    unknown = [d for d in names if d not in reports.BREAKDOWN_DIMENSIONS]
    if unknown:
        raise BadRequest(f"Unknown breakdown {', '.join(unknown)}: use segment, device, market, traffic_source.", code="bad_breakdown")
    return names


def experiment_results(store: ResultsStore, key: str, *, metric: str | None, engine: str, alpha: float, breakdown: str | None,
                       correction: str, min_units: int, now: datetime, cuped: bool = False) -> ExperimentResults:
    definition = store.definition(key)
    if definition is None:
        raise NotFound(f"No experiment {key!r} (results know an experiment once it is created).", code="experiment_not_found")
    metric = metric or definition.primary_metric
    arms = [(v.key, v.weight) for v in definition.variants]
    items = store.cells(key)
    overall_arms = reports.whole_experiment(items, arms)
    overall, why_not = _analyse(metric, engine, alpha, overall_arms, min_units, cuped)
    dimensions = breakdown_dimensions(breakdown)
    cells = []
    for cell, cell_arms in (reports.by_cell(items, arms, dimensions).items() if dimensions else []):
        result, too_small = _analyse(metric, engine, alpha, cell_arms, min_units, cuped)
        parsed = {d: v for d, v in reports.parse_cell(cell).items() if d in dimensions}
        cells.append((parsed, result, too_small))

    # One correction across every comparison shown: variants x (overall + cells).
    results = [r for r in [overall, *(c[1] for c in cells)] if r]
    flat = [v["p_value"] for r in results for v in r["variants"]]
    adjusted = iter(reports.correct(flat, correction))
    for r in results:
        for v in r["variants"]:
            v["adjusted_p_value"] = next(adjusted) if correction != "none" else None

    started = definition.started_at or now
    days = max((now - started).total_seconds() / 86_400, 0.0)
    total_units = sum(a.counters.get("n", 0) for a in overall_arms)
    lift = overall["variants"][0]["lift"] if overall else None
    more = reports.days_to_detect(metric, overall_arms[0], lift, total_units / max(days, 1 / 24), len(arms), alpha, days)
    conclusion = store.conclusion(key)
    return ExperimentResults(
        experiment=key, metric=metric, engine=engine, alpha=alpha, correction=correction,
        srm_warning=reports.verdict(metric, engine, alpha, overall, None, None) if overall and overall["srm_flag"] else None,
        verdict=reports.verdict(metric, engine, alpha, overall, why_not, more),
        overall=_analysis(overall) if overall else None,
        cuped_variance_reduction=(overall or {}).get("cuped", {}).get("variance_reduction"),
        breakdown=list(dimensions),
        cells=[CellResult(cell=c, analysis=_analysis(r) if r else None, not_analysed=t) for c, r, t in cells],
        history=_history(store, key, metric, arms, min_units),
        conclusion=StoredConclusion(**conclusion) if conclusion else None,
        days_running=round(days, 2),
    )


def _history(store: ResultsStore, key: str, metric: str, arms: list[tuple[str, float]], min_units: int) -> list[HistoryPoint]:
    points = []
    for day, items in store.history(key):
        result, _ = _analyse(metric, "frequentist", 0.05, reports.whole_experiment(items, arms), min_units)
        if result:
            points.append(HistoryPoint(date=day, variants=[ArmResult(**v) for v in result["variants"]]))
    return points


def program_kpis(store: ResultsStore, holdout_share: float, cost: float | None) -> ProgramKpis:
    """The program against the global holdout, as a before/after table: the holdout is
    what the shop does without Persona."""
    share = min(max(holdout_share, 1e-6), 1 - 1e-6)  # the SRM check needs both weights positive
    arms = reports.whole_experiment(store.cells(PROGRAM), [("holdout", share), ("program", 1 - share)])
    holdout, program = arms
    rows = []
    for metric in PROGRAM_METRICS:
        means = [_mean(metric, a) for a in arms]
        result, _ = _analyse(metric, "frequentist", 0.05, arms, 2)
        variant = result["variants"][0] if result else {}
        rows.append(KpiRow(metric=metric, holdout=means[0], program=means[1], lift=variant.get("lift"),
                           ci=variant.get("ci", []), p_value=variant.get("p_value")))
    rpv_holdout, rpv_program = (_mean("revenue_per_visitor", a) for a in arms)
    incremental = (rpv_program - rpv_holdout) * program.counters.get("n", 0) if None not in (rpv_holdout, rpv_program) else None
    roi = (incremental - cost) / cost if incremental is not None and cost else None
    return ProgramKpis(holdout_units=int(holdout.counters.get("n", 0)), program_units=int(program.counters.get("n", 0)),
                       rows=rows, incremental_revenue=incremental, cost=cost, roi=roi)


def _mean(metric: str, arm: reports.VariantCounters) -> float | None:
    c = arm.counters
    if metric == "average_order_value":
        return c["rev"] / c["ord"] if c.get("ord") else None
    counter = reports.METRICS[metric][1]["sum"]
    return c.get(counter, 0) / c["n"] if c.get("n") else None


FEASIBILITY_HORIZON_DAYS = 56  # eight weeks: longer tests run into seasonality and novelty effects


def backlog(store: ResultsStore, stored: list[dict[str, Any]], now: datetime) -> Backlog:
    """Every use case with its statistical feasibility from the planner, ranked: feasible
    ones first, then by expected monthly gain per day of effort."""
    cells = store.cells(PROGRAM)
    first_seen = store.program_started()
    days = max((now - first_seen).total_seconds() / 86_400, 1.0) if first_seen else None
    items = []
    for raw in stored:
        spec = BacklogItemIn.model_validate({k: v for k, v in raw.items() if k in BacklogItemIn.model_fields})
        assumptions = []
        # The target's own traffic and rate when the program has seen the segment, else the whole program's.
        cell = cell_key(segment=spec.target_segment) if spec.target_segment else ALL
        counted = _totals(cells, cell)
        if spec.target_segment and not counted["n"]:
            cell, counted = ALL, _totals(cells, ALL)
            assumptions.append(f"segment {spec.target_segment} not seen yet: the whole program's numbers")
        whose = f"segment {spec.target_segment}" if cell != ALL else "the program"
        rate = spec.baseline_rate
        if rate is None and 0 < counted["conv"] < counted["n"]:
            rate = counted["conv"] / counted["n"]
            assumptions.append(f"baseline: {whose}'s conversion rate {rate:.2%}")
        traffic = spec.daily_traffic
        if traffic is None and counted["n"] and days:
            traffic = counted["n"] / days
            assumptions.append(f"traffic: {whose}'s {traffic:,.0f} visitors a day")
        needed = None
        if rate and traffic:
            try:
                needed = statistics.days_for_mde(statistics.Baseline.rate(rate), spec.expected_uplift, traffic)
            except (ArithmeticError, ValueError):  # e.g. a lift on a 1e-300 rate: nothing to detect in finite time
                assumptions.append("days to detect: beyond what the planner can compute for these numbers")
        else:
            assumptions.append("give baseline_rate and daily_traffic: the program has no data yet")
        gain = spec.expected_uplift * spec.revenue_at_stake
        items.append(BacklogItem(**raw, days_to_detect=needed, feasible=needed is not None and needed <= FEASIBILITY_HORIZON_DAYS,
                                 expected_monthly_gain=gain, score=gain / spec.effort_days, assumptions=assumptions))
    items.sort(key=lambda i: (not i.feasible, -i.score))
    return Backlog(horizon_days=FEASIBILITY_HORIZON_DAYS, items=items)


def _totals(items: list[dict[str, Any]], cell: str) -> dict[str, float]:
    """Units and converting units of one program cell, holdout and program together."""
    rows = [i for i in items if i["sk"].rsplit("#", 1)[0] == cell]
    return {name: float(sum(i.get(name, 0) for i in rows)) for name in ("n", "conv")}


def plan(query: PlanQuery) -> Plan:
    """Days needed for an MDE, or the MDE reachable in some days, at the requested power."""
    if (query.mde is None) == (query.days is None):
        raise BadRequest("Give either mde (to get the days needed) or days (to get the reachable MDE).", code="bad_plan")
    if query.baseline_rate is not None:
        baseline = statistics.Baseline.rate(query.baseline_rate)
    elif query.baseline_mean is not None and query.baseline_variance is not None:
        baseline = statistics.Baseline(query.baseline_mean, query.baseline_variance)
    else:
        raise BadRequest("Give baseline_rate, or baseline_mean with baseline_variance.", code="bad_plan")
    common = {"variants": query.variants, "alpha": query.alpha, "power": query.power}
    try:
        if query.mde is not None:
            units = statistics.units_per_variant(baseline, query.mde, **common)
            days = statistics.days_for_mde(baseline, query.mde, query.daily_traffic, **common)
            return Plan(**query.model_dump(), units_per_variant=math.ceil(units), days_needed=days)
        mde = statistics.mde_for_days(baseline, query.days, query.daily_traffic, **common)
        if not math.isfinite(mde):
            raise OverflowError(mde)
        return Plan(**query.model_dump(), mde_reachable=mde)
    except (ArithmeticError, ValueError) as exc:  # ZeroDivisionError, OverflowError, math domain errors
        raise BadRequest("These numbers are beyond what the planner can compute: the effect (baseline x mde) is too "
                         "small to detect in finite time, or the result overflows.", code="bad_plan") from exc
