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


def _failing_api(exc: Exception):
    """A resolver whose one route raises `exc`, and a way to call it as API Gateway would."""
    import json as _json

    from aws_lambda_powertools import Logger

    from shared.api import build_resolver

    app = build_resolver(Logger(service="test"))

    @app.get("/boom")
    def boom() -> dict:
        raise exc

    def call() -> tuple[int, dict, dict]:
        event = {"httpMethod": "GET", "path": "/boom", "resource": "/boom", "headers": {}, "requestContext": {"requestId": "r"},
                 "queryStringParameters": None, "pathParameters": None, "body": None, "isBase64Encoded": False}
        answer = app.resolve(event, None)
        return answer["statusCode"], _json.loads(answer["body"]), answer.get("multiValueHeaders") or answer.get("headers") or {}

    return call


def test_a_store_busy_past_the_sdks_retries_is_a_503_to_retry_and_a_bug_a_500():
    from botocore.exceptions import ClientError, EndpointConnectionError

    throttled = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem")
    conflicted = ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "x"},
                              "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}, {"Code": "ThrottlingError"}]},
                             "TransactWriteItems")
    for exc in (throttled, conflicted, EndpointConnectionError(endpoint_url="https://dynamodb")):
        status, body, headers = _failing_api(exc)()
        assert status == 503 and body["error"]["code"] == "service_unavailable", exc
        assert "Retry-After" in headers
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetItem")
    failed_check = ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "x"},
                                "CancellationReasons": [{"Code": "ConditionalCheckFailed"}]}, "TransactWriteItems")
    for exc in (denied, failed_check, KeyError("bug")):
        status, body, _ = _failing_api(exc)()
        assert status == 500 and body["error"]["code"] == "internal_error", exc
