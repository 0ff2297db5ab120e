"""Boundary models of the results context: what the results, program and backlog APIs answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MetricName = Literal["conversion_rate", "revenue_per_visitor", "average_order_value", "retention", "engagement"]
Engine = Literal["frequentist", "bayesian", "sequential"]
Correction = Literal["holm", "bh", "none"]


class ArmResult(BaseModel):
    name: str
    n: int
    mean: float | None
    lift: float | None = Field(default=None, description="Relative to the control")
    ci: list[float | None] = Field(default_factory=list, description="Interval of the relative lift")
    abs_lift: float | None = None
    p_value: float | None = None
    adjusted_p_value: float | None = Field(default=None, description="After the correction across variants and cells")
    chance_to_win: float | None = None
    expected_loss: float | None = None


class Analysis(BaseModel):
    control: ArmResult
    variants: list[ArmResult]
    srm_p_value: float
    srm_flag: bool


class CellResult(BaseModel):
    cell: dict[str, str] = Field(description="The breakdown's values, e.g. {segment: rfm:champions, device: mobile}")
    analysis: Analysis | None
    not_analysed: str | None = Field(default=None, description="Why not (minimum sample guard)")


class HistoryPoint(BaseModel):
    date: str
    variants: list[ArmResult]


class Conclusion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["ship", "stop", "iterate", "inconclusive"]
    summary: str = Field(min_length=1, max_length=4000)
    author: str | None = Field(default=None, max_length=128)


class StoredConclusion(Conclusion):
    at: datetime


class ExperimentResults(BaseModel):
    experiment: str
    metric: MetricName
    engine: Engine
    alpha: float
    correction: Correction
    srm_warning: str | None = Field(description="Shown above everything when the split is not the configured one")
    verdict: str
    overall: Analysis | None
    cuped_variance_reduction: float | None = Field(
        default=None, description="With cuped=true on revenue per visitor: 1 - adjusted/raw variance (pre-exposure spend)")
    breakdown: list[str] = Field(default_factory=list)
    cells: list[CellResult] = Field(default_factory=list)
    history: list[HistoryPoint] = Field(default_factory=list, description="Daily snapshots of the primary comparison")
    conclusion: StoredConclusion | None = None
    days_running: float


class KpiRow(BaseModel):
    metric: MetricName
    holdout: float | None
    program: float | None
    lift: float | None
    ci: list[float | None]
    p_value: float | None


class ProgramKpis(BaseModel):
    holdout_units: int
    program_units: int
    rows: list[KpiRow] = Field(description="Before/after table: the holdout is the 'without Persona' column")
    incremental_revenue: float | None = Field(description="(revenue per visitor, program - holdout) x program units")
    cost: float | None
    roi: float | None = Field(description="(incremental revenue - cost) / cost")


class BacklogItemIn(BaseModel):
    """A personalization use case waiting to be tested."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    target_segment: str | None = Field(default=None, max_length=128, description="e.g. lifecycle:at_risk; absent: everyone")
    expected_uplift: float = Field(gt=0, le=5, description="Relative lift on conversion expected, e.g. 0.05 for +5 %")
    # Upper bounds keep gain and score finite: a float near 1e308 times the uplift is infinity, which JSON cannot carry.
    revenue_at_stake: float = Field(ge=0, le=1e12, description="Monthly revenue of the targeted traffic")
    effort_days: float = Field(ge=0.1, le=365)
    baseline_rate: float | None = Field(default=None, gt=0, lt=1, description="Conversion rate of the target; absent: the program's")
    daily_traffic: float | None = Field(default=None, gt=0, le=1e10, description="Units per day in the target; absent: the program's visitors")


class BacklogItem(BacklogItemIn):
    item_id: str
    created_at: datetime
    days_to_detect: int | None = Field(description="Days of the target's traffic to detect the expected uplift (80 % power, alpha 0.05)")
    feasible: bool = Field(description="Detectable within the feasibility horizon")
    expected_monthly_gain: float = Field(description="expected_uplift x revenue_at_stake")
    score: float = Field(description="expected monthly gain per day of effort; feasible items rank first")
    assumptions: list[str] = Field(default_factory=list)


class Backlog(BaseModel):
    horizon_days: int
    items: list[BacklogItem]


class PlanQuery(BaseModel):
    """A power / MDE plan: give `mde` to get the days, or `days` to get the MDE."""

    model_config = ConfigDict(extra="forbid")

    baseline_rate: float | None = Field(default=None, gt=0, lt=1, description="For a rate metric (e.g. conversion)")
    baseline_mean: float | None = Field(default=None, gt=0, le=1e12, description="For a mean metric (e.g. revenue per visitor)")
    baseline_variance: float | None = Field(default=None, gt=0, le=1e24, description="Per-unit variance of that mean")
    daily_traffic: float = Field(gt=0, le=1e10, description="Units a day in the targeted segment")
    variants: int = Field(default=2, ge=2, le=24, description="Including the control; traffic is split equally")
    mde: float | None = Field(default=None, gt=0, le=5, description="Relative lift to detect, e.g. 0.05")
    days: float | None = Field(default=None, gt=0, le=365)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    power: float = Field(default=0.8, gt=0.5, lt=1)


class Plan(PlanQuery):
    units_per_variant: int | None = None
    days_needed: int | None = None
    mde_reachable: float | None = None
