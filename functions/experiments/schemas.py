"""Boundary models of the experiments context: the experiment definition an analyst
submits, with every rule that makes a test readable checked up front (clear 4xx).

An experiment is either A/B/n (`variants` with weights summing to 1) or multivariate
(`factors`: each factor's levels; the variants are the full factorial, equal weights).
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Key = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
Metric = Literal["conversion_rate", "revenue_per_visitor", "average_order_value", "retention", "engagement"]
Status = Literal["draft", "running", "stopped"]
Device = Literal["desktop", "mobile", "tablet", "app", "other"]
MAX_VARIANTS = 24  # beyond this no retailer's traffic reaches a result
MAX_FACTORS = 4  # five factors of two levels are already 32 variants
MAX_TARGETING_VALUES = 50
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Level = Annotated[str, StringConstraints(min_length=1, max_length=24)]


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=128, pattern=r"^[a-z0-9][a-z0-9_=|.-]*$",
                     description="Multivariate arms are named factor=level|factor=level")
    weight: float = Field(gt=0, le=1)


class Targeting(BaseModel):
    """Who qualifies; every condition given must hold. Conditions on profile data
    (`segments`) apply only to units that allow personalization (see assignment)."""

    model_config = ConfigDict(extra="forbid")

    segments: list[Label] = Field(default_factory=list, max_length=MAX_TARGETING_VALUES, description="Any of these segments, e.g. rfm:champions")
    markets: list[Label] = Field(default_factory=list, max_length=MAX_TARGETING_VALUES, description="Country codes, e.g. DE")
    devices: list[Device] = Field(default_factory=list, max_length=5)
    visitor: Literal["new", "returning"] | None = None
    traffic_sources: list[Label] = Field(default_factory=list, max_length=MAX_TARGETING_VALUES, description="e.g. email, instagram")


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Key
    hypothesis: str = Field(min_length=1, max_length=2000)
    variants: list[Variant] | None = Field(default=None, max_length=MAX_VARIANTS, description="A/B/n; the first is the control")
    factors: dict[Level, Annotated[list[Level], Field(max_length=MAX_VARIANTS)]] | None = Field(
        default=None, max_length=MAX_FACTORS, description="Multivariate: levels per factor (full factorial)")
    primary_metric: Metric
    secondary_metrics: list[Metric] = Field(default_factory=list, max_length=5)
    targeting: Targeting = Field(default_factory=Targeting)
    coverage: float = Field(default=1.0, gt=0, le=1, description="Share of qualifying units in the test")
    layer: str | None = Field(default=None, min_length=1, max_length=64, description="Experiments of one layer never share a unit")
    layer_share: float = Field(default=1.0, gt=0, le=1, description="Share of the layer's traffic this experiment takes")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    attribution_days: int = Field(default=7, ge=1, le=90, description="A conversion counts for a unit exposed at most this long before it")

    @model_validator(mode="after")
    def _readable_test(self) -> ExperimentIn:
        if (self.variants is None) == (self.factors is None):
            raise ValueError("give either variants (A/B/n) or factors (multivariate), not both or neither")
        arms = self.arms()
        if not 2 <= len(arms) <= MAX_VARIANTS:
            raise ValueError(f"an experiment needs 2 to {MAX_VARIANTS} variants; this one has {len(arms)}")
        keys = [a.key for a in arms]
        if len(set(keys)) != len(keys):
            raise ValueError(f"variant keys must be unique: {sorted({k for k in keys if keys.count(k) > 1})}")
        total = sum(a.weight for a in arms)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"variant weights must sum to 1; they sum to {total:g}")
        if self.primary_metric in self.secondary_metrics:
            raise ValueError("the primary metric cannot also be a secondary one")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def arms(self) -> list[Variant]:
        """The variants, the full factorial for a multivariate test (`hero=b|cta=shop`)."""
        if self.variants is not None:
            return self.variants
        factors = self.factors or {}
        for name, levels in factors.items():
            if not levels or len(set(levels)) != len(levels):
                raise ValueError(f"factor {name!r} needs distinct levels")
        count = math.prod(len(levels) for levels in factors.values())
        if count > MAX_VARIANTS:  # before building them: 8 factors of 10 levels would be 10^8 variants in memory
            raise ValueError(f"an experiment needs 2 to {MAX_VARIANTS} variants; these factors make {count}")
        combos = list(itertools.product(*([f"{n}={lvl}" for lvl in levels] for n, levels in sorted(factors.items()))))
        return [Variant(key="|".join(c).lower(), weight=1 / len(combos)) for c in combos] if factors else []


class ExperimentPatch(BaseModel):
    """What may change after creation. Variants and factors of a running test may not:
    that would make its results meaningless (stop it and start a new one)."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    hypothesis: str | None = Field(default=None, min_length=1, max_length=2000)
    variants: list[Variant] | None = Field(default=None, max_length=MAX_VARIANTS)
    coverage: float | None = Field(default=None, gt=0, le=1)
    targeting: Targeting | None = None
    ends_at: datetime | None = None


TRANSITIONS: dict[str, set[str]] = {"draft": {"running"}, "running": {"stopped"}, "stopped": set()}


class ExperimentView(ExperimentIn):
    """A stored experiment: the definition plus what running it has decided."""

    model_config = ConfigDict(extra="forbid")

    status: Status = "draft"
    seed: str = Field(description="Hash seed (the key): fixed for the experiment's life")
    layer_range: tuple[float, float] | None = Field(default=None, description="Its slice of the layer, allocated at start")
    created_at: datetime
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    version: int = Field(default=1, ge=1, description="Incremented on every change (optimistic locking)")


class ExperimentList(BaseModel):
    experiments: list[ExperimentView]


class AssignmentContext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: Device | None = None
    locale: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")
    traffic_source: str | None = Field(default=None, max_length=64)
    visitor: Literal["new", "returning"] | None = None


SubjectId = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@\-]+$")


class AssignmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str | None = SubjectId
    anonymous_id: str | None = SubjectId
    context: AssignmentContext = Field(default_factory=AssignmentContext)

    @model_validator(mode="after")
    def _someone(self) -> AssignmentRequest:
        if not (self.user_id or self.anonymous_id):
            raise ValueError("give user_id (a customer) or anonymous_id (a visitor), or both")
        return self


class Assignment(BaseModel):
    experiment: str
    variant: str
    variant_index: int
    first_exposure: bool = Field(description="True the first time this unit sees it (ExposureLogged was published)")


class Skipped(BaseModel):
    experiment: str
    reason: Literal["targeting", "profile_targeting_needs_consent"]


class AssignmentResponse(BaseModel):
    unit_id: str | None = Field(description="What was hashed: the customer id once proven, else the anonymous id (none "
                                "for a caller who proved nobody)")
    holdout: bool = Field(description="In the global holdout: no experiment, no personalization, ever")
    excluded_reason: Literal["holdout", "no_consent", "unknown_visitor", "restricted"] | None = Field(
        default=None, description="Why the unit is in no experiment at all (show the default experience)")
    assignments: list[Assignment] = Field(description="Running experiments the unit is in; others: the default (control)")
    skipped: list[Skipped] = Field(default_factory=list, description="Running experiments the unit does not qualify for")

