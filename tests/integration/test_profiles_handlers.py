"""The profiles and platform functions through their real entry points, on moto."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime

import pytest

from functions.platform.handlers import api_handler as platform_handler
from functions.profiles.consumers import crm_drop_handler, interactions_handler
from functions.profiles.handlers import admin_handler, collect_handler
from infra.local.gateway import LOCAL_BACKEND_ARN
from tests.conftest import load_event, visitor
from tests.integration.test_identity import consent

# The samples' ids, as the trust model wants them: a visitor's id is a secret (the samples' short ones are refused).
ANON_1, ANON_2 = visitor("anon-sample-1"), visitor("anon-sample-2")


def _body(response):
    return json.loads(response["body"])


def _events(sample: str, events: list[dict], headers: dict | None = None, *, backend: bool = False) -> dict:
    """A sample request carrying these events, with a customer's session `headers`, or from the retailer's
    backend (POST /v1/server/events, the IAM signer named by API Gateway)."""
    event = load_event(sample)
    event["body"] = json.dumps({"events": events})
    event["headers"].update(headers or {})
    if backend:
        event["path"] = event["resource"] = event["requestContext"]["resourcePath"] = "/v1/server/events"
        event["requestContext"]["identity"]["userArn"] = LOCAL_BACKEND_ARN
    return event


def _valid() -> dict:
    """apigw_post_events_valid.json with a visitor's secret id: a page view and a product view."""
    return _events("apigw_post_events_valid.json", [
        {"type": "page_view", "anonymous_id": ANON_1, "timestamp": "2026-11-24T10:00:00Z",
         "context": {"device": "mobile", "page": "/", "traffic_source": "newsletter"}},
        {"type": "product_view", "anonymous_id": ANON_1, "item_id": "sku-1001", "category": "running-shoes", "brand": "Stride",
         "timestamp": "2026-11-24T10:00:00Z"}])


def _profile(context, profile_id):
    event = load_event("apigw_get_profile.json")
    event["path"], event["pathParameters"] = f"/v1/profiles/{profile_id}", {"profile_id": profile_id}
    response = admin_handler(event, context)
    return response["statusCode"], _body(response)


def _as_sqs(messages, queue_arn="arn:aws:sqs:eu-west-1:123456789012:q"):
    from infra.local.dispatcher import sqs_event

    return sqs_event(messages, queue_arn)


def test_collect_accepts_valid_events_and_publishes_exactly_them(aws, context):
    consent(aws, ANON_2, "cust-sample-2")  # browsing is stored with consent
    # apigw_post_events_mixed.json's items with a visitor's secret id, the search sent with cust-sample-2's session.
    mixed = [{"type": "page_view", "anonymous_id": ANON_2, "timestamp": "2026-11-24T10:00:00Z"},
             {"type": "product_view", "anonymous_id": ANON_2, "timestamp": "2026-11-24T10:00:00Z"},  # no item_id
             {"type": "search", "customer_id": "cust-sample-2", "query": "rain jacket", "timestamp": "2026-11-24T10:00:00Z"},
             {"type": "page_view", "timestamp": "2026-11-24T10:00:00Z"}]  # nobody
    response = collect_handler(_events("apigw_post_events_mixed.json", mixed, aws.signed_in("cust-sample-2")), context)
    assert response["statusCode"] == 202
    body = _body(response)
    assert body["accepted"] == 2 and [r["index"] for r in body["rejected"]] == [1, 3]
    published = [json.loads(m["Body"])["detail"] for m in aws.drain("profiles_interactions")]
    assert sorted(e["data"]["type"] for e in published) == ["page_view", "search"]
    assert {e["metadata"]["correlation_id"] for e in published} == {"corr-sample-1"}  # the caller's x-correlation-id


@pytest.mark.parametrize(
    ("sample", "status", "code"),
    [
        ("apigw_post_events_bad_json.json", 400, "invalid_request"),
        ("apigw_post_events_wrong_field.json", 400, "invalid_request"),
        ("apigw_post_events_form.json", 415, "unsupported_media_type"),
    ],
)
def test_bad_requests_are_4xx_with_the_error_shape(aws, context, sample, status, code):
    response = collect_handler(load_event(sample), context)
    assert response["statusCode"] == status
    error = _body(response)["error"]
    assert error["code"] == code and error["message"]
    assert aws.drain("profiles_interactions") == []


def test_bad_json_says_so(aws, context):
    assert "not valid JSON" in _body(collect_handler(load_event("apigw_post_events_bad_json.json"), context))["error"]["message"]


def test_too_many_events_and_too_large_bodies(aws, context):
    event = _valid()
    item = json.loads(event["body"])["events"][0]
    too_many = dict(event, body=json.dumps({"events": [item] * 501}))
    assert collect_handler(too_many, context)["statusCode"] == 400
    huge_item = dict(item, context={"page": "/" + "p" * 2000})
    too_large = dict(event, body=json.dumps({"events": [huge_item] * 140}))  # ≈ 290 KB
    response = collect_handler(too_large, context)
    assert response["statusCode"] == 413 and _body(response)["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("raw", "base64_encoded"),
    [
        (b"\xff\xfe{\"events\": []}", True),  # not UTF-8: API Gateway hands it over base64-encoded
        (b"[" * 10_000 + b"]" * 10_000, False),  # nested past Python's recursion limit
        (b'{"events": [{"type": "page_view", "anonymous_id": "a", "value": NaN}]}', False),  # NaN is no JSON number
        (b'{"events": [{"type": "page_view", "anonymous_id": "a", "value": 1e999}]}', False),  # reads as infinity
        (b'{"events": ' + b"9" * 5_000 + b"}", False),  # past Python's 4,300-digit integer limit
    ],
    ids=["not-utf8", "deep-nesting", "nan", "infinity", "5000-digits"],
)
def test_bodies_python_reads_badly_are_400_not_500(aws, context, raw, base64_encoded):
    """Found by the API fuzzer (tests/reliability): each of these was a 500."""
    event = load_event("apigw_post_events_valid.json")
    event.update(body=base64.b64encode(raw).decode() if base64_encoded else raw.decode(), isBase64Encoded=base64_encoded)
    response = collect_handler(event, context)
    assert response["statusCode"] == 400, response
    error = _body(response)["error"]
    assert error["code"] == "invalid_request" and "not valid JSON" in error["message"]
    assert aws.drain("profiles_interactions") == []


@pytest.mark.parametrize("content_type", ["application/problem+json", "Application/JSON; charset=UTF-8", "application/vnd.api+json"])
def test_every_json_content_type_is_read_as_json(aws, context, content_type):
    """`application/problem+json` passed our check but not Powertools' (a 500, found by the fuzzer)."""
    event = _valid()
    event["headers"]["content-type"] = content_type
    assert collect_handler(event, context)["statusCode"] == 202


def test_text_plain_bodies_are_read_as_json(aws, context):
    event = _valid()
    event["headers"]["content-type"] = "text/plain;charset=UTF-8"  # navigator.sendBeacon
    assert collect_handler(event, context)["statusCode"] == 202


def test_interactions_flow_into_the_profile(aws, context):
    consent(aws, ANON_1)
    assert _body(collect_handler(_valid(), context))["accepted"] == 2
    # The sample's purchase, from the retailer's backend, carries both ids: only identify links now, so the
    # visitor stays their own profile and the purchase counts for the customer.
    purchase = {"type": "purchase", "customer_id": "cust-sample-1", "anonymous_id": ANON_1, "item_id": "sku-1001", "value": "89.90",
                "currency": "EUR", "timestamp": "2026-11-24T10:00:00Z"}
    assert _body(collect_handler(_events("apigw_post_events_valid.json", [purchase], backend=True), context))["accepted"] == 1
    result = interactions_handler(_as_sqs(aws.drain("profiles_interactions")), context)
    assert result == {"batchItemFailures": []}
    status, visitor_profile = _profile(context, ANON_1)
    assert status == 200 and visitor_profile["profile_id"] == ANON_1 and visitor_profile["linked_ids"] == []
    assert visitor_profile["interactions"] == {"total": 2, "by_type": {"page_view": 1, "product_view": 1}}
    # The customer signs in on the visitor's cookie: identify, with their session. Now the visitor is the customer, history included.
    identify = {"type": "identify", "customer_id": "cust-sample-1", "anonymous_id": ANON_1, "timestamp": "2026-11-24T10:01:00Z"}
    collect_handler(_events("apigw_post_events_valid.json", [identify], aws.signed_in("cust-sample-1")), context)
    assert interactions_handler(_as_sqs(aws.drain("profiles_interactions")), context) == {"batchItemFailures": []}
    status, profile = _profile(context, ANON_1)
    assert status == 200
    assert profile["profile_id"] == "cust-sample-1" and profile["linked_ids"] == [ANON_1]
    assert profile["interactions"] == {"total": 4, "by_type": {"identify": 1, "page_view": 1, "product_view": 1, "purchase": 1}}
    assert _profile(context, "cust-sample-1")[1] == profile


def test_a_poison_record_fails_alone_and_redelivery_never_double_counts(aws, context):
    poison = load_event("sqs_interaction_poison.json")
    result = interactions_handler(poison, context)
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-3"}]}
    interactions_handler(load_event("sqs_interaction_recorded.json"), context)  # msg-1 again, plus msg-2
    interactions_handler(load_event("sqs_interaction_recorded.json"), context)
    profile = load_event("apigw_get_profile.json")
    profile["path"], profile["pathParameters"] = "/v1/profiles/anon-sample-3", {"profile_id": "anon-sample-3"}
    assert _body(admin_handler(profile, context))["interactions"] == {"total": 2, "by_type": {"page_view": 1, "product_view": 1}}


def test_unknown_profile_is_a_404(aws, context):
    response = admin_handler(load_event("apigw_get_profile.json"), context)
    assert response["statusCode"] == 404 and _body(response)["error"]["code"] == "not_found"


def test_a_notification_for_a_vanished_object_imports_nothing(aws, context):
    result = crm_drop_handler(load_event("sqs_s3_object_created.json"), context)  # the object was never put
    assert result == {"batchItemFailures": []}
    assert _body(admin_handler(load_event("apigw_get_imports.json"), context))["imports"] == []


def test_platform_routes(aws, context):
    health = platform_handler(load_event("apigw_get_healthz.json"), context)
    assert health["statusCode"] == 200 and _body(health)["status"] == "ok"
    spec = _body(platform_handler(load_event("apigw_get_openapi.json"), context))
    assert spec["info"]["title"] == "Persona API" and "/v1/events" in spec["paths"]
    missing = dict(load_event("apigw_get_healthz.json"), path="/nope", resource="/nope")
    response = platform_handler(missing, context)
    assert response["statusCode"] == 404 and _body(response)["error"]["code"] == "route_not_found"


def test_a_publishing_outage_is_a_503_not_a_500(aws, context, monkeypatch):
    from shared.aws.events import EventPublisher

    consent(aws, ANON_1)  # with consent the events are published (without it nothing is)

    def refuse(self, entries):
        return {"FailedEntryCount": len(entries), "Entries": [{"ErrorCode": "InternalFailure"}] * len(entries)}

    monkeypatch.setattr(EventPublisher, "client", property(lambda self: type("C", (), {"put_events": lambda _, Entries: refuse(self, Entries)})()))
    monkeypatch.setattr("shared.aws.events.time.sleep", lambda s: None)
    response = collect_handler(_valid(), context)
    assert response["statusCode"] == 503 and _body(response)["error"]["code"] == "service_unavailable"
