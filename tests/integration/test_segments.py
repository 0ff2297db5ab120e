"""Segment recompute over the store: counts, profile segments, ProfileUpdated, no-op reruns."""

from __future__ import annotations

import json

import pytest

from functions.profiles.consumers import segments_handler
from functions.profiles.handlers import admin_handler
from tests.conftest import load_event, visitor
from tests.integration.test_crm_imports import drop
from tests.integration.test_identity import consent, consume, post, profile

ANON_CART = visitor("anon-cart")
NOW_EVENTS = [  # Anna's browsing, sent with her session; a visitor's cart
    {"type": "product_view", "customer_id": "C-1001", "item_id": "sku-1", "category": "running-shoes", "brand": "Stride", "timestamp": "2026-11-20T10:00:00Z"},
    {"type": "product_view", "customer_id": "C-1001", "item_id": "sku-2", "category": "running-shoes", "brand": "Aero", "timestamp": "2026-11-20T10:01:00Z"},
    {"type": "add_to_cart", "anonymous_id": ANON_CART, "item_id": "sku-2", "timestamp": "2026-11-20T10:02:00Z"},
]


@pytest.fixture
def profile_updates(aws):
    read = aws.capture("ProfileUpdated")
    return lambda: [data for _, data in read()]


def admin_get(context, path: str):
    event = load_event("apigw_get_imports.json")
    event.update(path=path, resource=path, queryStringParameters=None, multiValueQueryStringParameters=None)
    response = admin_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def segments_route(context):
    return admin_get(context, "/v1/segments")


def test_segments_are_computed_counted_and_published(aws, context, profile_updates):
    assert segments_route(context)[0] == 404  # not computed yet: a clear 404
    consent(aws, "C-1001", ANON_CART)  # browsing and the behaviour segments made of it need consent
    drop(aws, context, "customers_semicolon_bom.csv", "customers/crm.csv")
    drop(aws, context, "orders.csv.gz", "orders/shop.csv.gz")
    drop(aws, context, "campaign.jsonl", "campaign/mail.jsonl")
    assert post(context, NOW_EVENTS, aws.signed_in("C-1001"))["accepted"] == len(NOW_EVENTS)
    consume(aws, context)

    summary = segments_handler({"id": "sched-1", "detail-type": "Scheduled Event", "source": "aws.events"}, context)
    # C-1004 is in no segment (its order and reaction were quarantined): written (quality), not changed.
    assert (summary["profiles"], summary["written"], summary["changed"]) == (6, 6, 5)

    status, counts = segments_route(context)
    assert status == 200 and counts["profiles"] == 6
    by_name = {s["name"]: s["count"] for s in counts["segments"]}
    assert by_name["customer:returning"] == 1 and by_name["customer:new"] == 2  # C-1001 has 2 orders; C-1002 and C-1005 one
    assert by_name["behaviour:cart_abandoner"] == 1 and by_name["email:unsubscribed"] == 1

    status, anna = profile(context, "C-1001")
    assert "persona:runner" in anna["segments"] and "email:engaged" in anna["segments"]
    assert anna["segment_detail"]["top_brands"] == ["Aero", "Stride"]
    assert anna["data_quality"]["score"] > 0 and anna["segment_detail"]["rfm"]["frequency"] >= 1

    updates = profile_updates()
    assert sorted(u["profile_id"] for u in updates) == ["C-1001", "C-1002", "C-1003", "C-1005", ANON_CART]
    assert all(u["added"] == u["segments"] and u["removed"] == [] for u in updates)

    # Nothing changed: nothing is written or published on the next run.
    again = segments_handler({"Records": [{"messageId": "m", "body": "{}"}]}, context)
    assert again == {"batchItemFailures": []}
    assert profile_updates() == []


def test_storefront_behaviour_moves_segments_without_a_full_recompute(aws, context, profile_updates):
    consent(aws, "C-1002")  # browsing and the behaviour segments made of it need consent
    drop(aws, context, "orders.csv.gz", "orders/shop.csv.gz")
    segments_handler({"id": "sched-1"}, context)  # the base (quintiles, as-of date) every update is measured against
    profile_updates()
    post(context, [{"type": "add_to_cart", "customer_id": "C-1002", "item_id": "sku-9", "timestamp": "2026-11-20T10:00:00Z"}], aws.signed_in("C-1002"))
    consume(aws, context)
    status, ben = profile(context, "C-1002")
    assert "behaviour:cart_abandoner" in ben["segments"] and "value:" in " ".join(ben["segments"])  # purchase segments kept
    (update,) = profile_updates()
    assert update["profile_id"] == "C-1002" and update["added"] == ["behaviour:cart_abandoner"] and update["removed"] == []
    post(context, [{"type": "purchase", "customer_id": "C-1002", "item_id": "sku-9", "value": "9.00", "currency": "GBP",
                    "timestamp": "2026-11-20T10:05:00Z"}], backend=True)  # the order system reports the purchase
    consume(aws, context)
    assert profile_updates()[0]["removed"] == ["behaviour:cart_abandoner"]


def test_before_any_full_recompute_interactions_only_count(aws, context, profile_updates):
    early = visitor("anon-early")
    consent(aws, early)
    post(context, [{"type": "add_to_cart", "anonymous_id": early, "item_id": "sku-9", "timestamp": "2026-11-20T10:00:00Z"}])
    consume(aws, context)
    assert profile(context, early)[1]["segments"] == [] and profile_updates() == []


def test_quality_rolls_up_per_source_and_per_profile(aws, context):
    status, empty = admin_get(context, "/v1/quality")
    assert status == 200 and empty == {"sources": [], "profiles": None}
    drop(aws, context, "customers_semicolon_bom.csv", "customers/crm/2026-10.csv")
    drop(aws, context, "customers_semicolon_bom.csv", "customers/crm/2026-11.csv")  # same rows again: all duplicates
    drop(aws, context, "orders.csv.gz", "orders/shop.csv.gz")
    segments_handler({"id": "sched-1"}, context)

    status, quality = admin_get(context, "/v1/quality")
    assert status == 200
    crm, shop = quality["sources"]
    assert (crm["kind"], crm["source"], crm["imports"], crm["rows_read"]) == ("customers", "crm", 2, 14)
    # 7 rows each: 4 accepted + 1 duplicate + 2 quarantined, then 0 + 5 + 2.
    assert (crm["accepted"], crm["duplicates"], crm["quarantined"]) == (4, 6, 4)
    assert crm["fields"]["email"] == {"filled": 12, "valid": 10, "fill_rate": 1.0, "validity_rate": 0.8333}
    assert crm["days_since_last_import"] is not None and (shop["kind"], shop["source"]) == ("orders", "default")
    profiles = quality["profiles"]
    assert profiles["scored_profiles"] == 4 and sum(profiles["score_bands"].values()) == 4
    assert 0 < profiles["mean_score"] <= 100
