"""Identity stitching: an anonymous visitor identifies, history follows, events are published."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.profiles.consumers import interactions_handler
from functions.profiles.handlers import admin_handler, collect_handler
from infra.local.gateway import LOCAL_BACKEND_ARN
from shared.trust import is_visitor_id
from tests.conftest import load_event, visitor

NOW = datetime.now(UTC).isoformat()
ANON_7, ANON_SHARED, ANON_9 = visitor("anon-7"), visitor("anon-shared"), visitor("anon-9")


@pytest.fixture
def published(aws):
    return aws.capture("IdentityLinked", "ConversionRecorded")


def consent(aws, *subjects, purposes=("analytics", "personalization", "profiling")):
    """The banner's choice, through the privacy API (a customer with their session), and its projection in profiles:
    browsing is stored, and behaviour segments made of it, only with consent (the EU default)."""
    for subject in subjects:
        status, body = aws.api("PUT", f"/v1/consents/{subject}", {"purposes": dict.fromkeys(purposes, True), "source": "banner",
                                                                   "policy_version": "v1"},
                               headers=None if is_visitor_id(subject) else aws.signed_in(subject))
        assert status == 200, body
    aws.pump()


def post(context, events, headers=None, *, backend=False):
    """POST /v1/events as the storefront (with a signed-in customer's session `headers`), or with backend=True
    POST /v1/server/events as the retailer's backend (API Gateway names the IAM signer). Returns the answer."""
    request = load_event("apigw_post_events_valid.json")
    request["body"] = json.dumps({"events": events})
    request["headers"].update(headers or {})
    if backend:
        request["path"] = request["resource"] = request["requestContext"]["resourcePath"] = "/v1/server/events"
        request["requestContext"]["identity"]["userArn"] = LOCAL_BACKEND_ARN
    response = collect_handler(request, context)
    assert response["statusCode"] == 202, response["body"]
    return json.loads(response["body"])


def consume(aws, context):
    from infra.local.dispatcher import sqs_event

    messages = aws.drain("profiles_interactions")
    for message in messages:  # one at a time, in order, as a FIFO-ish storefront session would arrive
        assert interactions_handler(sqs_event([message], "arn"), context) == {"batchItemFailures": []}


def profile(context, profile_id):
    event = load_event("apigw_get_profile.json")
    event["path"], event["pathParameters"] = f"/v1/profiles/{profile_id}", {"profile_id": profile_id}
    response = admin_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def test_identify_links_the_visitor_and_moves_history(aws, context, published):
    consent(aws, ANON_7)
    post(context, [{"type": "page_view", "anonymous_id": ANON_7, "timestamp": NOW},
                   {"type": "product_view", "anonymous_id": ANON_7, "item_id": "sku-1", "timestamp": NOW}])
    consume(aws, context)
    assert profile(context, ANON_7)[1]["interactions"]["total"] == 2
    identify = [{"type": "identify", "anonymous_id": ANON_7, "customer_id": "cust-7", "timestamp": NOW}]
    refused = post(context, identify)  # naming a customer needs their session: no link without it
    assert refused["accepted"] == 0 and [r["index"] for r in refused["rejected"]] == [0]
    post(context, identify, aws.signed_in("cust-7"))
    consume(aws, context)
    post(context, [{"type": "add_to_cart", "anonymous_id": ANON_7, "item_id": "sku-1", "timestamp": NOW}])  # still anonymous on the page
    consume(aws, context)
    status, by_anonymous = profile(context, ANON_7)
    assert status == 200 and by_anonymous == profile(context, "cust-7")[1]
    assert by_anonymous["profile_id"] == "cust-7" and by_anonymous["linked_ids"] == [ANON_7]
    assert by_anonymous["interactions"]["by_type"] == {"add_to_cart": 1, "identify": 1, "page_view": 1, "product_view": 1}
    recent = by_anonymous["recent_interactions"]  # moved with the link, newest first
    assert sorted(r["type"] for r in recent) == ["add_to_cart", "identify", "page_view", "product_view"]
    assert recent == sorted(recent, key=lambda r: r["occurred_at"], reverse=True)
    linked = [data for name, data in published() if name == "IdentityLinked"]
    assert [(d["anonymous_id"], d["customer_id"]) for d in linked] == [(ANON_7, "cust-7")]


def test_a_second_identification_of_the_same_device_does_not_move_history_again(aws, context, published):
    post(context, [{"type": "identify", "anonymous_id": ANON_SHARED, "customer_id": "cust-a", "timestamp": NOW}], aws.signed_in("cust-a"))
    consume(aws, context)
    post(context, [{"type": "identify", "anonymous_id": ANON_SHARED, "customer_id": "cust-b", "timestamp": NOW}], aws.signed_in("cust-b"))
    consume(aws, context)
    assert profile(context, ANON_SHARED)[1]["profile_id"] == "cust-a"  # the first identification wins
    assert profile(context, "cust-b")[1]["interactions"]["total"] == 1  # cust-b's own identify is still counted


def test_purchases_publish_conversions(aws, context, published):
    consent(aws, ANON_9)  # the storefront's page view below is browsing: stored with consent
    purchase = [{"type": "purchase", "anonymous_id": ANON_9, "item_id": "sku-1", "value": "19.90", "currency": "EUR", "timestamp": NOW}]
    post(context, purchase, backend=True)  # the retailer's order system: it knows what was paid
    conversions = [data for name, data in published() if name == "ConversionRecorded"]
    assert len(conversions) == 1
    assert (conversions[0]["anonymous_id"], conversions[0]["value"], conversions[0]["currency"]) == (ANON_9, "19.90", "EUR")
    # The same purchase from the storefront is a view of the order page, without a value: no conversion.
    answer = post(context, purchase)
    assert answer["accepted"] == 1 and [c["index"] for c in answer["changed"]] == [0]
    assert [name for name, _ in published()] == []
    recorded = [json.loads(m["Body"])["detail"]["data"] for m in aws.drain("profiles_interactions")]
    assert sorted((r["type"], r.get("value")) for r in recorded) == [("page_view", None), ("purchase", "19.90")]
