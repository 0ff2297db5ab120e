from __future__ import annotations

from pydantic import BaseModel

from shared.envelope import EventEnvelope, new_event
from shared.errors import BadRequest, NotFound, PayloadTooLarge, ServiceUnavailable, error_body


class Payload(BaseModel):
    visitor: str


def test_new_event_fills_metadata():
    event = new_event("InteractionRecorded", Payload(visitor="v1"), context="profiles", correlation_id="req-1")
    assert event.data == {"visitor": "v1"}
    assert event.metadata.source == "persona.profiles"
    assert event.metadata.event_name == "InteractionRecorded"
    assert event.metadata.correlation_id == "req-1"
    assert event.metadata.version == 1
    assert event.metadata.created_at.tzinfo is not None


def test_event_ids_are_unique_and_round_trip_through_json():
    first = new_event("X", {"a": 1}, context="c", correlation_id="r")
    second = new_event("X", {"a": 1}, context="c", correlation_id="r")
    assert first.metadata.event_id != second.metadata.event_id
    assert EventEnvelope[dict].model_validate_json(first.model_dump_json()) == first


def test_error_body_shape_and_statuses():
    assert error_body("x", "y") == {"error": {"code": "x", "message": "y", "details": None}}
    assert (BadRequest("m").status, NotFound("m").status, PayloadTooLarge("m").status, ServiceUnavailable("m").status) == (400, 404, 413, 503)
    assert NotFound("gone", details={"id": 1}).to_body() == {"error": {"code": "not_found", "message": "gone", "details": {"id": 1}}}
    assert BadRequest("m", code="custom").code == "custom"
