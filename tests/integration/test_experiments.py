"""Experiments end to end over moto: definitions and their life cycle, sticky assignment,
targeting, consent, layers, the global holdout, identity links, exposures and privacy."""

from __future__ import annotations

import pytest

from functions.privacy.store import privacy_store
from shared import settings
from shared.aws.events import EventPublisher
from shared.bucketing import in_global_holdout
from shared.envelope import new_event
from shared.interactions import ProfileUpdated
from shared.trust import is_visitor_id
from tests.conftest import visitor
from tests.integration.test_privacy import _traces, submit, verify_by_staff
from tests.integration.test_recommend import shop, trained  # noqa: F401 - fixtures: a published model

AB = {"hypothesis": "A warmer hero lifts conversion", "primary_metric": "conversion_rate",
      "variants": [{"key": "control", "weight": 0.5}, {"key": "warm", "weight": 0.5}]}


@pytest.fixture
def exposures(aws):
    read = aws.capture("ExposureLogged")
    return lambda: [data for _, data in read()]


@pytest.fixture(autouse=True)
def fresh_running_list(monkeypatch):
    monkeypatch.setenv("EXPERIMENTS_REFRESH_S", "0")  # every request sees what the admin just changed
    settings.reset()


def create(aws, key, **changes):
    status, body = aws.api("POST", "/v1/experiments", {"key": key, **AB, **changes})
    assert status == 201, body
    return body


def start(aws, key):
    status, body = aws.api("PATCH", f"/v1/experiments/{key}", {"status": "running"})
    assert status == 200, body
    return body


def consent(aws, subject, **purposes):
    """The person's banner choice: a visitor's secret id is its own proof, a customer sends their session."""
    purposes = purposes or {"analytics": True, "personalization": True}
    headers = None if is_visitor_id(subject) else aws.signed_in(subject)
    assert aws.api("PUT", f"/v1/consents/{subject}", {"purposes": purposes, "source": "banner", "policy_version": "v1"},
                   headers=headers)[0] == 200
    aws.pump()


def assign(aws, signed_in=True, **body):
    """The storefront asks for the variants; with a `user_id` it sends that customer's session (unless signed_in=False)."""
    headers = aws.signed_in(body["user_id"]) if signed_in and body.get("user_id") else None
    status, answer = aws.api("POST", "/v1/assignments", body, headers=headers)
    assert status == 200, answer
    return answer


def variants(answer):
    return {a["experiment"]: a["variant"] for a in answer["assignments"]}


def test_life_cycle_and_validation(aws):
    created = create(aws, "hero")
    assert created["status"] == "draft" and created["seed"] == "hero" and created["version"] == 1
    assert aws.api("POST", "/v1/experiments", {"key": "hero", **AB})[1]["error"]["code"] == "duplicate_key"
    status, body = aws.api("POST", "/v1/experiments", {"key": "bad", **AB, "variants": [{"key": "a", "weight": 0.7}, {"key": "b", "weight": 0.7}]})
    assert status == 400 and "sum to 1" in str(body["error"]["details"])
    assert aws.api("GET", "/v1/experiments/nope")[0] == 404
    assert start(aws, "hero")["started_at"]
    locked = aws.api("PATCH", "/v1/experiments/hero", {"variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]})
    assert locked[0] == 409 and locked[1]["error"]["code"] == "variants_locked"
    assert aws.api("PATCH", "/v1/experiments/hero", {"coverage": 0.5})[1]["coverage"] == 0.5
    assert aws.api("PATCH", "/v1/experiments/hero", {"status": "stopped"})[1]["stopped_at"]
    assert aws.api("PATCH", "/v1/experiments/hero", {"status": "running"})[1]["error"]["code"] == "invalid_transition"
    assert [e["key"] for e in aws.api("GET", "/v1/experiments")[1]["experiments"]] == ["hero"]


def test_assignment_is_sticky_and_the_first_exposure_is_logged_once(aws, exposures):
    create(aws, "hero")
    start(aws, "hero")
    unit = visitor("anon-x1")
    consent(aws, unit)
    first = assign(aws, anonymous_id=unit, context={"device": "mobile", "locale": "de-DE"})
    again = assign(aws, anonymous_id=unit)
    assert variants(first) == variants(again) and first["assignments"][0]["first_exposure"] and not again["assignments"][0]["first_exposure"]
    (logged,) = exposures()
    assert logged["experiment"] == "hero" and logged["unit_id"] == unit and logged["context"]["market"] == "DE"
    assert logged["segments"] == []  # no ProfileUpdated seen for a visitor


def test_a_user_id_equal_to_the_anonymous_id_is_one_unit(aws):
    """Found by the API fuzzer (tests/reliability): the two equal ids made BatchGetItem ask for the
    same key twice, which DynamoDB refuses (a 500). The anonymous id must be a visitor's secret now,
    and the user id needs its session: the same id, proven both ways."""
    same = visitor("C-same")
    create(aws, "hero")
    start(aws, "hero")
    consent(aws, same)
    answer = assign(aws, user_id=same, anonymous_id=same)
    assert answer["unit_id"] == same and variants(answer)


def test_without_analytics_consent_or_under_restriction_a_unit_is_in_no_experiment(aws):
    create(aws, "hero")
    start(aws, "hero")
    assert assign(aws, anonymous_id=visitor("anon-x2"))["excluded_reason"] == "unknown_visitor"  # EU default
    consent(aws, "C-20", analytics=False, personalization=True)
    assert assign(aws, user_id="C-20")["excluded_reason"] == "no_consent"
    consent(aws, "C-20", analytics=True)
    assert variants(assign(aws, user_id="C-20"))
    restriction = submit(aws, "C-20", kind="restriction")
    verify_by_staff(aws, restriction)  # no address on file for C-20
    assert assign(aws, user_id="C-20") == {**assign(aws, user_id="C-20"), "excluded_reason": "restricted", "assignments": []}
    assert aws.api("POST", f"/v1/privacy-requests/{restriction}/lift")[0] == 200
    aws.pump()
    assert variants(assign(aws, user_id="C-20"))  # the next request after the lift


def test_targeting_and_profile_targeting_needs_consent(aws):
    create(aws, "mobile-de", targeting={"devices": ["mobile"], "markets": ["DE"]})
    create(aws, "champions", targeting={"segments": ["rfm:champions"]})
    for key in ("mobile-de", "champions"):
        start(aws, key)
    EventPublisher(aws.name("bus", "persona")).publish([new_event(
        "ProfileUpdated", ProfileUpdated(profile_id="C-30", added=["rfm:champions"], removed=[], segments=["rfm:champions"]),
        context="profiles", correlation_id="t")])
    consent(aws, "C-30")
    desktop = assign(aws, user_id="C-30", context={"device": "desktop"})
    assert set(variants(desktop)) == {"champions"} and desktop["skipped"] == [{"experiment": "mobile-de", "reason": "targeting"}]
    assert set(variants(assign(aws, user_id="C-30", context={"device": "mobile", "locale": "de-DE"}))) == {"mobile-de", "champions"}
    # Once exposed, a unit stays in the test (sticky) even when its context no longer matches.
    assert set(variants(assign(aws, user_id="C-30", context={"device": "desktop"}))) == {"mobile-de", "champions"}
    objection = submit(aws, "C-31", kind="objection", objection="profiling")
    consent(aws, "C-31")
    verify_by_staff(aws, objection)
    skipped = assign(aws, user_id="C-31", context={"device": "desktop"})["skipped"]
    assert {"experiment": "champions", "reason": "profile_targeting_needs_consent"} in skipped


def test_experiments_of_one_layer_never_share_a_unit(aws, monkeypatch):
    monkeypatch.setenv("CONSENT_DEFAULT_POLICY", "opt_out")  # units need no consent record here
    settings.reset()
    create(aws, "layer-a", layer="hero-slot", layer_share=0.5)
    create(aws, "layer-b", layer="hero-slot", layer_share=0.5)
    create(aws, "layer-c", layer="hero-slot", layer_share=0.2)
    ranges = [start(aws, key)["layer_range"] for key in ("layer-a", "layer-b")]
    assert ranges == [[0.0, 0.5], [0.5, 1.0]]
    assert aws.api("PATCH", "/v1/experiments/layer-c", {"status": "running"})[1]["error"]["code"] == "layer_full"
    seen = {"layer-a": 0, "layer-b": 0}
    for n in range(60):
        chosen = set(variants(assign(aws, anonymous_id=visitor(f"anon-l{n}"))))
        assert len(chosen) == 1
        seen[chosen.pop()] += 1
    assert min(seen.values()) > 15


def test_coverage_and_weight_changes_never_move_assigned_units(aws, monkeypatch):
    monkeypatch.setenv("CONSENT_DEFAULT_POLICY", "opt_out")
    settings.reset()
    create(aws, "hero")
    start(aws, "hero")
    before = {visitor(f"anon-c{n}"): variants(assign(aws, anonymous_id=visitor(f"anon-c{n}"))).get("hero") for n in range(40)}
    aws.api("PATCH", "/v1/experiments/hero", {"coverage": 0.1})
    status, reweighted = aws.api("PATCH", "/v1/experiments/hero", {"variants": [{"key": "control", "weight": 0.9}, {"key": "warm", "weight": 0.1}]})
    assert status == 200 and reweighted["variants"][0]["weight"] == 0.9
    after = {u: variants(assign(aws, anonymous_id=u)).get("hero") for u in before}
    assert after == before and all(before.values())
    newcomers = [variants(assign(aws, anonymous_id=visitor(f"anon-n{n}"))).get("hero") for n in range(200)]
    # New units follow the new coverage (about 10 % in the test) and weights (control 9 : 1).
    assert newcomers.count(None) > 150 and newcomers.count("warm") < newcomers.count("control")


def test_a_visitors_variants_carry_over_when_they_log_in(aws):
    create(aws, "hero")
    start(aws, "hero")
    unit = visitor("anon-x5")
    consent(aws, unit)
    seen = variants(assign(aws, anonymous_id=unit))
    status, body = aws.api("POST", "/v1/events", {"events": [{"type": "identify", "anonymous_id": unit, "customer_id": "C-50",
                                                              "timestamp": "2026-11-26T10:00:00Z"}]}, headers=aws.signed_in("C-50"))
    assert status == 202 and body["accepted"] == 1, body
    aws.pump()
    answer = assign(aws, user_id="C-50")
    assert answer["unit_id"] == "C-50" and variants(answer) == seen and not answer["assignments"][0]["first_exposure"]
    # Without the session the user id proves nothing: no unit, nothing recorded for C-50.
    unproven = assign(aws, signed_in=False, user_id="C-50")
    assert unproven == {**unproven, "unit_id": None, "excluded_reason": "unknown_visitor", "assignments": []}


def test_the_global_holdout_sees_no_experiment_and_no_personalization(aws, shop, monkeypatch):  # noqa: F811
    monkeypatch.setenv("GLOBAL_HOLDOUT_SHARE", "0.5")
    settings.reset()
    held = next(visitor(f"anon-h{n}") for n in range(100) if in_global_holdout(visitor(f"anon-h{n}"), 0.5))
    create(aws, "hero")
    start(aws, "hero")
    consent(aws, held)
    answer = assign(aws, anonymous_id=held)
    assert answer["holdout"] and answer["excluded_reason"] == "holdout" and answer["assignments"] == []
    status, recommended = aws.api("GET", f"/v1/recommendations?placement=home&anonymous_id={held}")
    assert status == 200 and recommended["fallback_reason"] == "holdout" and not recommended["personalized"]
    assert recommended["items"]  # the neutral answer, like anyone without personalization


def test_bad_assignment_requests_are_400(aws):
    for body in ({}, {"anonymous_id": "bad id"}, {"anonymous_id": "a-1", "context": {"device": "fridge"}}, {"anonymous_id": "a-1", "extra": 1}):
        status, answer = aws.api("POST", "/v1/assignments", body)
        assert status == 400 and answer["error"]["code"] == "invalid_request", body


def test_access_and_erasure_cover_assignments(aws):
    create(aws, "hero")
    start(aws, "hero")
    consent(aws, "C-60")
    assign(aws, user_id="C-60", anonymous_id=visitor("anon-x6"))
    access = submit(aws, "C-60")  # no address on file for C-60: the privacy team verifies
    verify_by_staff(aws, access)
    assert privacy_store().get_request(access).tasks["experiments"].action == "exported"
    erasure = submit(aws, "C-60", kind="erasure")
    verify_by_staff(aws, erasure)
    assert privacy_store().get_request(erasure).tasks["experiments"].action == "erased"
    assert _traces(aws, {"C-60"}) == []
