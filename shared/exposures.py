"""Payload of `ExposureLogged`: the first time a unit saw a variant of an experiment.

Published by experiments, consumed by results (and by nobody else): the per-unit
facts results needs to attribute conversions and break results down.
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
