"""Reading Persona events out of SQS records.

Rules on the bus deliver whole EventBridge events into each consumer queue; the
Persona envelope is the event's `detail`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.envelope import EventEnvelope


class BusEvent(BaseModel):
    """The EventBridge event as a rule's SQS target receives it."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    id: str
    source: str
    detail_type: str = Field(alias="detail-type")
    detail: EventEnvelope[dict[str, Any]]


def envelope_from_body(body: str) -> EventEnvelope[dict[str, Any]]:
    """Parse an SQS message body written by an EventBridge rule; raises on anything else."""
    return BusEvent.model_validate_json(body).detail
