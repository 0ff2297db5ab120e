"""Payloads the experiments context publishes for results: `ExposureLogged` (the first
time a unit saw a variant: the per-unit facts results needs to attribute conversions
and break results down) and `ExperimentChanged` (a definition, as results needs it).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ExposureContext(BaseModel):
    device: str | None = None
    market: str | None = None
    traffic_source: str | None = None
    visitor: str | None = Field(default=None, description="new or returning")


class ExposureLogged(BaseModel):
    experiment: str
    variant: str
    variant_index: int = Field(ge=0)
    unit_id: str = Field(description="The hashed unit: the customer id once known, else the anonymous id")
    anonymous_id: str | None = None
    exposed_at: datetime
    segments: list[str] = Field(default_factory=list, description="Snapshot for breakdowns; empty without personalization consent")
    context: ExposureContext = Field(default_factory=ExposureContext)


class ArmWeight(BaseModel):
    key: str
    weight: float


class ExperimentChanged(BaseModel):
    """An experiment's definition after a change: results keeps its own copy."""

    key: str
    hypothesis: str
    status: str
    variants: list[ArmWeight] = Field(description="The control first")
    primary_metric: str
    secondary_metrics: list[str] = Field(default_factory=list)
    attribution_days: int
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    version: int
