"""Identity stitching: an anonymous visitor identifies, history follows, events are published."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from functions.profiles.consumers import interactions_handler
from functions.profiles.handlers import admin_handler, collect_handler
from tests.conftest import load_event

NOW = datetime.now(UTC).isoformat()


@pytest.fixture
def published(aws):
    return aws.capture("IdentityLinked", "ConversionRecorded")


def post(context, events):
    request = load_event("apigw_post_events_valid.json")
    request["body"] = json.dumps({"events": events})
    response = collect_handler(request, context)
    assert response["statusCode"] == 202, response["body"]


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
    post(context, [{"type": "page_view", "anonymous_id": "anon-7", "timestamp": NOW},
                   {"type": "product_view", "anonymous_id": "anon-7", "item_id": "sku-1", "timestamp": NOW}])
    consume(aws, context)
    assert profile(context, "anon-7")[1]["interactions"]["total"] == 2
    post(context, [{"type": "identify", "anonymous_id": "anon-7", "customer_id": "cust-7", "timestamp": NOW}])
    consume(aws, context)
    post(context, [{"type": "add_to_cart", "anonymous_id": "anon-7", "item_id": "sku-1", "timestamp": NOW}])  # still anonymous on the page
    consume(aws, context)
    status, by_anonymous = profile(context, "anon-7")
    assert status == 200 and by_anonymous == profile(context, "cust-7")[1]
    assert by_anonymous["profile_id"] == "cust-7" and by_anonymous["linked_ids"] == ["anon-7"]
    assert by_anonymous["interactions"]["by_type"] == {"add_to_cart": 1, "identify": 1, "page_view": 1, "product_view": 1}
    recent = by_anonymous["recent_interactions"]  # moved with the link, newest first
    assert sorted(r["type"] for r in recent) == ["add_to_cart", "identify", "page_view", "product_view"]
    assert recent == sorted(recent, key=lambda r: r["occurred_at"], reverse=True)
    linked = [data for name, data in published() if name == "IdentityLinked"]
    assert [(d["anonymous_id"], d["customer_id"]) for d in linked] == [("anon-7", "cust-7")]


def test_a_second_identification_of_the_same_device_does_not_move_history_again(aws, context, published):
    post(context, [{"type": "identify", "anonymous_id": "anon-shared", "customer_id": "cust-a", "timestamp": NOW}])
    consume(aws, context)
    post(context, [{"type": "identify", "anonymous_id": "anon-shared", "customer_id": "cust-b", "timestamp": NOW}])
    consume(aws, context)
    assert profile(context, "anon-shared")[1]["profile_id"] == "cust-a"  # the first identification wins
    assert profile(context, "cust-b")[1]["interactions"]["total"] == 1  # cust-b's own identify is still counted


def test_purchases_publish_conversions(aws, context, published):
    post(context, [{"type": "purchase", "anonymous_id": "anon-9", "item_id": "sku-1", "value": "19.90", "currency": "EUR", "timestamp": NOW}])
    conversions = [data for name, data in published() if name == "ConversionRecorded"]
    assert len(conversions) == 1
    assert (conversions[0]["anonymous_id"], conversions[0]["value"], conversions[0]["currency"]) == ("anon-9", "19.90", "EUR")
