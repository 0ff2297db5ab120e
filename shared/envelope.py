"""The one envelope every Persona event travels in (EventBridge `detail`).

Events carry pseudonymous ids only, never e-mail addresses or names.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

DataT = TypeVar("DataT")


class EventMetadata(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_name: str = Field(min_length=1, description="Also the EventBridge detail-type")
    version: int = Field(default=1, ge=1)
    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1)
    correlation_id: str = Field(min_length=1)
    source: str = Field(description="EventBridge source, persona.<context>")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class EventEnvelope(BaseModel, Generic[DataT]):
    model_config = ConfigDict(frozen=True)

    data: DataT
    metadata: EventMetadata


def new_event(
    event_name: str, data: BaseModel | dict[str, Any], *, context: str, correlation_id: str, version: int = 1,
    event_id: str | None = None,
) -> EventEnvelope[dict[str, Any]]:
    """Build an envelope for `data` published by bounded context `context` (a fresh
    `event_id` unless given: see `derived_event_id`)."""
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    return EventEnvelope[dict[str, Any]](
        data=payload,
        metadata=EventMetadata(
            event_name=event_name,
            version=version,
            correlation_id=correlation_id,
            source=f"persona.{context}",
            **({"event_id": event_id} if event_id else {}),
        ),
    )


_DERIVED = uuid.UUID("6f1d3a52-8c1e-4f5b-9a57-2f0f3c1b7e10")


def derived_event_id(event_name: str, origin_id: str) -> str:
    """The same event id every time an event is published for the same origin (a client's
    event id): consumers deduplicate on event ids, so publishing it again (a batch the
    client resent after a 503) is harmless instead of counted twice."""
    return uuid.uuid5(_DERIVED, f"{event_name}:{origin_id}").hex
