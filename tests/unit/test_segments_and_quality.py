from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from functions.profiles.quality import quality_score
from functions.profiles.segments import (
    OrderHistory,
    Persona,
    behaviour_segments,
    combine,
    purchase_segments,
    quintiles,
    rfm_group,
)

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def history(days_ago: list[int], revenue: str) -> OrderHistory:
    return OrderHistory(tuple(sorted(NOW - timedelta(days=d) for d in days_ago)), Decimal(revenue))


BASE = [history([i % 400 + 1] * (1 + i % 7), str(10 * (i + 1))) for i in range(200)]


def test_quintile_cuts_and_scores_span_one_to_five():
    cuts = quintiles(BASE, NOW)
    assert len(cuts.recency_days) == 4 and list(cuts.frequency) == sorted(cuts.frequency)
    best = purchase_segments(history([1, 5, 9, 13, 17, 21, 25], "5000"), cuts, NOW)
    worst = purchase_segments(history([399], "5"), cuts, NOW)
    assert best.rfm == {"recency": 5, "frequency": 5, "monetary": 5}
    assert worst.rfm == {"recency": 1, "frequency": 1, "monetary": 1}
    assert "rfm:champions" in best.labels and "rfm:hibernating" in worst.labels
    assert "value:high" in best.labels and "value:low" in worst.labels


def test_rfm_groups():
    assert [rfm_group(*s) for s in [(5, 5, 5), (1, 5, 5), (2, 3, 1), (3, 5, 2), (5, 1, 1), (4, 2, 3), (1, 1, 1), (3, 1, 3)]] == [
        "champions", "cant_lose", "at_risk", "loyal", "new", "potential_loyalist", "hibernating", "need_attention"]


def test_churn_risk_follows_the_customers_own_rhythm():
    cuts = quintiles(BASE, NOW)
    weekly = purchase_segments(history([3, 10, 17, 24], "100"), cuts, NOW)  # buys every 7 days, last 3 days ago
    assert weekly.churn_risk == round(1 - math.exp(-3 / 7), 4) and "lifecycle:active" in weekly.labels
    gone_quiet = purchase_segments(history([30, 37, 44, 51], "100"), cuts, NOW)  # 30 days for a weekly buyer
    assert 0.95 < gone_quiet.churn_risk < 0.995 and "lifecycle:lapsed" in gone_quiet.labels
    long_gone = purchase_segments(history([60, 67, 74, 81], "100"), cuts, NOW)
    assert "lifecycle:churned" in long_gone.labels
    slow_but_regular = purchase_segments(history([40, 130, 220], "100"), cuts, NOW)  # every 90 days
    assert slow_but_regular.churn_risk < 0.4 and "lifecycle:active" in slow_but_regular.labels
    assert "lifecycle:churned" in purchase_segments(history([500, 520], "10"), cuts, NOW).labels
    newcomer = purchase_segments(history([4], "30"), cuts, NOW)
    assert {"lifecycle:new", "customer:new"} <= set(newcomer.labels)
    assert "customer:returning" in weekly.labels


def test_no_orders_no_purchase_segments():
    assert purchase_segments(OrderHistory((), Decimal(0)), quintiles(BASE, NOW), NOW).labels == []


def test_behaviour_affinities_and_personas():
    counters = {
        "interactions_page_view": 3, "interactions_product_view": 4, "interactions_add_to_cart": 1,
        "view_cat:running-shoes": 3, "view_cat:socks": 1, "buy_cat:socks": 1, "view_brand:Stride": 2, "buy_brand:Aero": 1,
    }
    segments = behaviour_segments(counters, {"unsubscribed": False, "last_engaged_at": "2026-11-01T00:00:00+00:00"},
                                  searched=["trail shoes", "socks"])
    assert {"behaviour:cart_abandoner", "behaviour:repeat_visitor", "behaviour:searcher", "email:engaged", "persona:runner"} <= set(segments.labels)
    assert segments.top_categories == ["socks", "running-shoes"]  # a purchase weighs 3 views
    assert segments.top_brands == ["Aero", "Stride"] and segments.search_terms == ["socks", "trail shoes"]  # the distinct terms, sorted
    buyer = behaviour_segments({"interactions_add_to_cart": 1, "interactions_purchase": 1}, {"unsubscribed": True})
    assert "behaviour:cart_abandoner" not in buyer.labels and "email:unsubscribed" in buyer.labels
    custom = behaviour_segments({"view_cat:beginner-guides": 1}, None, personas=[Persona("novice", ("beginner-guides",), 1)])
    assert "persona:novice" in custom.labels


def test_combine_keeps_every_label_once():
    a = purchase_segments(history([3, 10], "50"), quintiles(BASE, NOW), NOW)
    b = behaviour_segments({"interactions_add_to_cart": 1}, None)
    both = combine(a, b)
    assert both.labels == sorted(set(a.labels) | set(b.labels)) and both.rfm == a.rfm and both.churn_risk == a.churn_risk


def test_quality_score():
    fresh = {f: {"value": "x", "source": "crm:a", "at": (NOW - timedelta(days=10)).isoformat()} for f in ("email", "phone", "country")}
    score = quality_score(fresh, NOW)
    assert score["completeness"] == round(3 / 7, 3) and score["freshness"] == 1.0
    assert score["score"] == round(100 * (0.7 * 3 / 7 + 0.3)) and "birth_date" in score["missing"]
    stale = {k: {**v, "at": (NOW - timedelta(days=730)).isoformat()} for k, v in fresh.items()}
    assert quality_score(stale, NOW)["freshness"] == 0.5
    assert quality_score({}, NOW) is None


def test_profiles_sharing_an_email_or_phone_are_flagged_as_possible_duplicates():
    from functions.profiles.segmentation import ProfileInputs, possible_duplicates, recompute

    def attrs(**values):
        return {k: {"value": v, "source": "crm:x", "at": NOW.isoformat()} for k, v in values.items()}

    profiles = {
        "a": ProfileInputs(attributes=attrs(email="x@example.com", phone="+4911")),
        "b": ProfileInputs(attributes=attrs(email="x@example.com")),
        "c": ProfileInputs(attributes=attrs(phone="+4911")),
        "d": ProfileInputs(attributes=attrs(email="d@example.com")),
    }
    assert possible_duplicates(profiles) == {"a": ["b", "c"], "b": ["a"], "c": ["a"]}
    outcome = recompute(profiles, NOW)
    flagged = {r.profile_id for r in outcome.records if "quality:possible_duplicate" in r.labels}
    assert flagged == {"a", "b", "c"} and outcome.counts["quality:possible_duplicate"] == 3


def test_profile_summary_bands_missing_fields_and_mean():
    from functions.profiles.quality import profile_summary

    full = {f: {"value": "x", "source": "crm:a", "at": NOW.isoformat()} for f in
            ("email", "phone", "first_name", "last_name", "country", "birth_date", "email_opt_in")}
    only_email = {"email": full["email"]}
    summary = profile_summary([full, only_email, {}], NOW, possible_duplicates=2)
    # 100 (good) and round(100 * (0.7/7 + 0.3)) = 40 (poor); the anonymous profile has no score.
    assert summary["scored_profiles"] == 2 and summary["mean_score"] == 70.0
    assert summary["score_bands"] == {"poor": 1, "fair": 0, "good": 1}
    assert summary["missing_fields"]["phone"] == 1 and summary["missing_fields"]["email"] == 0
    assert summary["possible_duplicates"] == 2
    assert profile_summary([], NOW, 0)["mean_score"] is None


def test_source_quality_sums_imports_per_source_weighting_by_rows():
    from functions.profiles.quality import source_quality
    from functions.profiles.schemas import FieldReport, ImportReport

    def report(key, status, rows, parsed, email_filled, email_valid, finished_days_ago, dups=0, quarantined=0):
        kind = key.split("/")[0]
        return ImportReport(
            import_id=key, status=status, kind=kind, source=key.split("/")[1] if key.count("/") > 1 else "default",
            bucket="b", key=key, size_bytes=1, etag="e", received_at=NOW - timedelta(days=finished_days_ago + 1),
            finished_at=NOW - timedelta(days=finished_days_ago), rows_read=rows, rows_parsed=parsed,
            accepted=rows - dups - quarantined, duplicates=dups, quarantined=quarantined,
            fields={"email": FieldReport(filled=email_filled, valid=email_valid, fill_rate=0, validity_rate=0)},
        )

    reports = [
        report("customers/shop/a.csv", "completed", 100, 100, 90, 81, 3, dups=10),
        report("customers/shop/b.csv", "completed", 900, 900, 810, 810, 1, quarantined=9),
        report("customers/shop/c.csv", "failed", 0, 0, 0, 0, 0),
        report("orders/x.csv", "completed", 10, 10, 0, 0, 40),
        report("orders/y.csv", "running", 0, 0, 0, 0, 0),  # not finished: not counted
    ]
    shop, orders = source_quality(reports, NOW)
    assert (shop["kind"], shop["source"], shop["imports"], shop["failed_imports"]) == ("customers", "shop", 2, 1)
    assert shop["rows_read"] == 1000 and shop["duplicate_rate"] == 0.01 and shop["quarantine_rate"] == 0.009
    # Summed, not averaged per import: 900 / 1000 filled, 891 / 900 valid.
    assert shop["fields"]["email"] == {"filled": 900, "valid": 891, "fill_rate": 0.9, "validity_rate": 0.99}
    # Freshness comes from the newest completed import: the failed one is newer but brought no data.
    assert shop["last_import_at"] == NOW - timedelta(days=1) and shop["days_since_last_import"] == 1.0
    assert (orders["source"], orders["imports"], orders["days_since_last_import"]) == ("default", 1, 40.0)


def test_a_sensitive_category_is_never_an_affinity_a_persona_or_a_top_category():
    counters = {"view_cat:health": 40, "buy_cat:health": 5, "view_cat:tents": 2, "view_brand:Stride": 1}
    out = behaviour_segments(counters, None, sensitive=frozenset({"health"}))
    assert not [label for label in out.labels if "health" in label] and "health" not in out.top_categories
    assert "affinity:category:tents" in out.labels
    shown = behaviour_segments(counters, None, sensitive=frozenset())
    assert "affinity:category:health" in shown.labels  # the same counters, health not sensitive: it would be a segment
    assert "affinity:category:health" not in behaviour_segments(counters, None).labels  # the default list has health


def test_behaviour_segments_need_profiling_on_its_lawful_basis():
    from functions.profiles.segmentation import SegmentPolicy
    from shared.consent import PURPOSES, ConsentChanged

    def state(**effective):
        return ConsentChanged(subject_id="C-1", effective={p: effective.get(p, False) for p in PURPOSES}, changed_at=datetime.now(UTC))

    policy = SegmentPolicy()
    assert not policy.behaviour_allowed(None) and not policy.behaviour_allowed(state(analytics=True))
    assert policy.behaviour_allowed(state(profiling=True))
    assert SegmentPolicy(behaviour_basis="legitimate_interest").behaviour_allowed(None)
