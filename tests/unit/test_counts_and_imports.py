from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from functions.profiles.imports import import_id, received
from functions.profiles.interaction_counts import MAX_SEARCH_TERMS, SEARCHED, counts_from_item, increments, search_terms
from functions.profiles.schemas import EventContext, InteractionRecorded


def interaction(**fields):
    base = dict(interaction_id="i-1", type="search", occurred_at=datetime.now(UTC), context=EventContext(), query="q")
    return InteractionRecorded(**{**base, **fields})


def test_increments_count_the_total_and_the_type_and_search_terms_are_values():
    assert increments(interaction()) == {"interactions_total": 1, "interactions_search": 1}
    assert search_terms(interaction()) == {"q"}


def test_counts_from_a_dynamodb_item():
    item = {"pk": "VISITOR#a", "sk": "COUNTS", "interactions_total": Decimal(3), "interactions_search": Decimal(2), "interactions_page_view": Decimal(1)}
    counts = counts_from_item(item)
    assert counts.total == 3 and counts.by_type == {"page_view": 1, "search": 2}


def test_import_id_is_stable_per_object_and_ignores_etag_quotes():
    assert import_id("b", "orders/x.csv", '"abc"') == import_id("b", "orders/x.csv", "abc")
    assert import_id("b", "orders/x.csv", "abc") != import_id("b", "orders/y.csv", "abc")
    assert import_id("b", "orders/x.csv", "abc") != import_id("b", "orders/x.csv", "abd")


def test_received_report_and_kind_from_the_key():
    report = received("b", "orders/k.csv", 12, '"e"', datetime(2026, 11, 24, tzinfo=UTC))
    assert report.status == "received" and report.etag == "e" and report.size_bytes == 12 and report.kind == "orders"
    assert received("b", "misc/k.csv", 1, "e", datetime(2026, 11, 24, tzinfo=UTC)).kind is None


def test_views_purchases_and_searches_feed_affinity_counters():
    view = interaction(type="product_view", item_id="s", category=" Running  Shoes ", brand="Stride", query=None)
    assert increments(view) == {"interactions_total": 1, "interactions_product_view": 1, "view_cat:Running Shoes": 1, "view_brand:Stride": 1}
    buy = interaction(type="purchase", category="socks", query=None)
    assert "buy_cat:socks" in increments(buy)
    assert search_terms(interaction(query="Trail  SHOES")) == {"trail shoes"}
    assert search_terms(view) == frozenset()


def test_each_kind_of_named_counter_is_capped_per_profile_and_known_names_keep_counting():
    from functions.profiles.interaction_counts import MAX_NAMES_PER_KIND

    counted = {f"view_cat:c{i}": Decimal(1) for i in range(MAX_NAMES_PER_KIND["view_cat:"])}
    view = interaction(type="product_view", item_id="sku-1", category="tents", brand="Stride", query=None)
    assert "view_cat:tents" not in increments(view, counted)
    assert increments(interaction(type="product_view", item_id="sku-1", category="c3", query=None), counted)["view_cat:c3"] == 1
    assert increments(view, counted)["interactions_product_view"] == 1  # the event itself counts
    assert "view_brand:Stride" in increments(view, counted)  # another kind has its own room


def test_search_terms_are_a_bounded_set_of_values():
    full = {SEARCHED: {f"term {i}" for i in range(MAX_SEARCH_TERMS)}}
    assert search_terms(interaction(query="a new term"), full) == frozenset()
    assert search_terms(interaction(query="term 3"), full) == {"term 3"}
    assert search_terms(interaction(query="a new term"), {SEARCHED: {"x"}}) == {"a new term"}


def test_control_characters_and_runs_of_spaces_never_reach_a_stored_name():
    assert search_terms(interaction(query="a\x00\t b\r\nc")) == {"a b c"}


def test_only_interactions_that_add_a_name_need_the_counted_names_read_first():
    from functions.profiles.interaction_counts import names_anything

    assert names_anything(interaction(query="tent"))
    assert names_anything(interaction(type="product_view", item_id="s", category="tents", query=None))
    assert not names_anything(interaction(type="product_view", item_id="s", query=None))
    assert not names_anything(interaction(type="page_view", query=None))
    # Without a read there is no cap to apply, and the names are exactly what a capped read with room would add.
    view = interaction(type="product_view", item_id="s", category="tents", query=None)
    assert increments(view, None) == increments(view, {})
