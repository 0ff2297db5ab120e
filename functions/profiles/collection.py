"""Event collection: validate a tracking batch item by item, turn it into events."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from functions.profiles.schemas import ConversionRecorded, InteractionRecorded, Rejection, TrackingEvent
from shared.envelope import EventEnvelope, derived_event_id, new_event

CONTEXT = "profiles"


def _messages(error: ValidationError) -> list[str]:
    out = []
    for err in error.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {message}" if where else message)
    return out


def validate_events(raw_events: Iterable[Any]) -> tuple[list[TrackingEvent], list[Rejection]]:
    accepted: list[TrackingEvent] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(raw_events):
        try:
            accepted.append(TrackingEvent.model_validate(raw))
        except ValidationError as exc:
            rejected.append(Rejection(index=index, errors=_messages(exc)))
    return accepted, rejected


def content_id(event: TrackingEvent) -> str:
    """The id of an event sent without `event_id`: a digest of what it says (timestamp included). A batch
    resent after a 503 then carries the same ids, so nothing is counted twice; the price is that two
    events identical to the millisecond count once, which is what they almost always are."""
    canonical = json.dumps(event.model_dump(mode="json", exclude={"event_id"}), sort_keys=True, separators=(",", ":"))
    return "c-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def to_interaction(event: TrackingEvent) -> InteractionRecorded:
    return InteractionRecorded(
        interaction_id=event.event_id or content_id(event),
        occurred_at=event.timestamp,
        **event.model_dump(exclude={"event_id", "timestamp"}),
    )


def interaction_events(events: Iterable[TrackingEvent], correlation_id: str) -> list[EventEnvelope]:
    """InteractionRecorded for every event, and ConversionRecorded for purchases.

    Their event ids derive from the interaction id: when PutEvents rejected part of a batch
    the client gets a 503 and sends the batch again, and the events published the first
    time must then be the same events (results counts each event id once)."""
    out: list[EventEnvelope] = []
    for event in events:
        interaction = to_interaction(event)
        out.append(new_event("InteractionRecorded", interaction, context=CONTEXT, correlation_id=correlation_id,
                             event_id=derived_event_id("InteractionRecorded", interaction.interaction_id)))
        if interaction.type == "purchase":
            conversion = ConversionRecorded.model_validate(interaction.model_dump(include=set(ConversionRecorded.model_fields)))
            out.append(new_event("ConversionRecorded", conversion, context=CONTEXT, correlation_id=correlation_id,
                                 event_id=derived_event_id("ConversionRecorded", interaction.interaction_id)))
    return out
