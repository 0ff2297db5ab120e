"""Results aggregation end to end over moto: assignments and purchases (from the retailer's backend)
through the APIs, counted per variant and crossed cell exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.results.aggregation import ALL, cell_key
from functions.results.store import results_store
from infra.local.dispatcher import sqs_event
from infra.topology import TOPOLOGY
from shared import settings
from shared.bucketing import in_global_holdout
from tests.conftest import visitor
from tests.integration.test_experiments import AB, assign, consent, create, start


@pytest.fixture(autouse=True)
def fresh_running_list(monkeypatch):
    monkeypatch.setenv("EXPERIMENTS_REFRESH_S", "0")
    monkeypatch.setenv("CONSENT_DEFAULT_POLICY", "opt_out")  # every unit takes part: no consent calls needed
    settings.reset()


def counters(experiment: str) -> dict[tuple[str, str], dict[str, float]]:
    out = {}
    for item in results_store().cells(experiment):
        cell, variant = item["sk"].rsplit("#", 1)
        out[(cell, variant)] = {k: float(v) for k, v in item.items() if k not in ("pk", "sk")}
    return out


def buy(aws, unit, value, *, minutes_ago=0):
    """The retailer's order system reports the purchase: only the backend's purchases carry a value."""
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    status, body = aws.api("POST", "/v1/server/events", {"events": [
        {"type": "purchase", "anonymous_id": unit, "item_id": "sku-1", "value": value, "currency": "EUR", "timestamp": at}]})
    assert status == 202 and body["accepted"] == 1 and not body["changed"], body


def test_exposures_and_conversions_are_counted_per_variant_and_cell(aws):
    create(aws, "hero")
    start(aws, "hero")
    units = [visitor(f"anon-r{n}") for n in range(12)]
    chosen = {}
    for n, unit in enumerate(units):
        context = {"device": "mobile" if n % 2 else "desktop", "locale": "de-DE"}
        chosen[unit] = assign(aws, anonymous_id=unit, context=context)["assignments"][0]["variant"]
    aws.pump()
    buyers = [u for v in ("control", "warm") for u in [m for m in units if chosen[m] == v][:2]]  # buyers in both variants
    for unit in buyers:
        buy(aws, unit, "20.00")
    buy(aws, buyers[0], "30.00")  # a second order of the same unit
    aws.pump()

    cells = counters("hero")
    for variant in ("control", "warm"):
        members = [u for u in units if chosen[u] == variant]
        overall = cells[(ALL, variant)]
        assert overall["n"] == len(members)
        assert overall["conv"] == sum(u in buyers for u in members)
        revenue = {u: (50.0 if u == buyers[0] else 20.0) for u in buyers}
        assert overall["rev"] == sum(revenue.get(u, 0) for u in members)
        assert overall["rev2"] == sum(revenue.get(u, 0) ** 2 for u in members)
        mobile = cells.get((cell_key(device="mobile", market="DE"), variant), {"n": 0})
        assert mobile["n"] == sum(1 for u in members if units.index(u) % 2)


def test_a_conversion_before_the_exposure_does_not_count(aws):
    create(aws, "hero")
    start(aws, "hero")
    early = visitor("anon-early")
    buy(aws, early, "99.00", minutes_ago=3)
    aws.pump()
    variant = assign(aws, anonymous_id=early)["assignments"][0]["variant"]
    aws.pump()
    assert counters("hero")[(ALL, variant)].get("conv", 0) == 0


def test_a_conversion_delivered_before_its_exposure_counts_once(aws):
    """SQS does not keep order (and a dead-lettered exposure is redriven much later): the
    conversion overtakes the exposure it belongs to, and still counts, once."""
    create(aws, "hero")
    start(aws, "hero")
    late, prior = visitor("anon-late"), visitor("anon-prior")
    buy(aws, prior, "40.00", minutes_ago=5)  # spend before the exposure: the CUPED covariate
    aws.pump()
    assign(aws, anonymous_id=late)
    assign(aws, anonymous_id=prior)
    exposures = aws.drain("results_aggregation")
    buy(aws, late, "25.00")
    buy(aws, prior, "10.00")
    conversions = aws.drain("results_aggregation")
    function, arn = TOPOLOGY.function("results_aggregation"), aws.resources.queue_arns["results_aggregation"]

    def totals():
        overall = [c for (cell, _), c in counters("hero").items() if cell == ALL]
        return {k: sum(c.get(k, 0) for c in overall) for k in ("n", "conv", "ord", "rev", "cx")}

    for batch in (conversions, exposures):
        assert not aws.invoker.invoke(function, sqs_event(batch, arn)).get("batchItemFailures")
    # The covariate is spend before the exposure (40.00), not the overtaking 10.00.
    assert totals() == {"n": 2, "conv": 2, "ord": 2, "rev": 35.0, "cx": 40.0}
    for batch in (conversions, exposures):  # each redelivered
        assert not aws.invoker.invoke(function, sqs_event(batch, arn)).get("batchItemFailures")
    assert totals() == {"n": 2, "conv": 2, "ord": 2, "rev": 35.0, "cx": 40.0}


def test_duplicate_and_replayed_deliveries_never_double_count(aws):
    create(aws, "hero")
    start(aws, "hero")
    unit = visitor("anon-dup")
    variant = assign(aws, anonymous_id=unit)["assignments"][0]["variant"]
    buy(aws, unit, "15.00")
    aws.pump()
    before = counters("hero")
    # Replay everything the aggregation consumed, as SQS at-least-once delivery may.
    aws.api("POST", "/v1/server/events", {"events": [{"type": "purchase", "anonymous_id": unit, "item_id": "sku-1", "value": "15.00",
                                                        "currency": "EUR", "timestamp": datetime.now(UTC).isoformat()}]})
    messages = aws.drain("results_aggregation")
    queue_arn = aws.resources.queue_arns["results_aggregation"]
    for _ in range(2):
        result = aws.invoker.invoke(TOPOLOGY.function("results_aggregation"), sqs_event(messages, queue_arn))
        assert not result.get("batchItemFailures")
    after = counters("hero")
    assert after[(ALL, variant)]["rev"] == before[(ALL, variant)]["rev"] + 15  # the new order once, not twice
    assert after[(ALL, variant)]["n"] == before[(ALL, variant)]["n"] == 1


def test_program_kpis_split_every_visitor_into_holdout_and_program(aws, monkeypatch):
    monkeypatch.setenv("GLOBAL_HOLDOUT_SHARE", "0.5")
    settings.reset()
    units = [visitor(f"anon-p{n}") for n in range(10)]
    for unit in units:
        buy(aws, unit, "10.00")
    aws.pump()
    cells = counters("_program")
    held = sum(in_global_holdout(u, 0.5) for u in units)
    assert cells[(ALL, "holdout")]["n"] == held and cells[(ALL, "program")]["n"] == len(units) - held
    assert cells[(ALL, "program")]["rev"] == 10.0 * (len(units) - held)


def _run_with_buyers(aws, units=40, buyers_every=3):
    create(aws, "hero")
    start(aws, "hero")
    for n in range(units):
        assign(aws, anonymous_id=visitor(f"anon-q{n}"), context={"device": "mobile" if n % 2 else "desktop"})
    aws.pump()
    for n in range(0, units, buyers_every):
        buy(aws, visitor(f"anon-q{n}"), "25.00")
    aws.pump()


def test_results_api_reads_like_a_report(aws):
    _run_with_buyers(aws)
    status, report = aws.api("GET", "/v1/experiments/hero/results?min_units=5&breakdown=device")
    assert status == 200, report
    assert report["metric"] == "conversion_rate" and report["correction"] == "holm"
    overall = report["overall"]
    assert overall["control"]["n"] + overall["variants"][0]["n"] == 40 and not overall["srm_flag"]
    assert report["srm_warning"] is None and "on conversion" in report["verdict"]
    assert {c["cell"]["device"] for c in report["cells"]} == {"mobile", "desktop"}
    assert all(v["adjusted_p_value"] >= v["p_value"] for c in report["cells"] if c["analysis"] for v in c["analysis"]["variants"])
    bayes = aws.api("GET", "/v1/experiments/hero/results?min_units=5&engine=bayesian&metric=revenue_per_visitor")[1]
    assert bayes["overall"]["variants"][0]["chance_to_win"] is not None
    small = aws.api("GET", "/v1/experiments/hero/results")[1]  # default guard: 100 units per variant
    assert small["overall"] is None and small["verdict"].startswith("Not enough data")


def test_conclusions_and_daily_history_are_kept_with_the_experiment(aws, context):
    from functions.results.consumers import history_handler

    _run_with_buyers(aws)
    status, stored = aws.api("PUT", "/v1/experiments/hero/conclusion", {"decision": "iterate", "summary": "Promising on mobile"})
    assert status == 200 and stored["at"]
    assert history_handler({}, context) == {"snapshots": 1}
    report = aws.api("GET", "/v1/experiments/hero/results?min_units=5")[1]
    assert report["conclusion"]["decision"] == "iterate" and len(report["history"]) == 1
    assert aws.api("PUT", "/v1/experiments/nope/conclusion", {"decision": "stop", "summary": "x"})[0] == 404


def test_program_kpis_against_the_holdout(aws, monkeypatch):
    monkeypatch.setenv("GLOBAL_HOLDOUT_SHARE", "0.5")
    settings.reset()
    for n in range(30):
        buy(aws, visitor(f"anon-k{n}"), "40.00" if n % 2 else "10.00")
    aws.pump()
    status, kpis = aws.api("GET", "/v1/program?cost=50")
    assert status == 200 and kpis["holdout_units"] + kpis["program_units"] == 30
    rows = {r["metric"]: r for r in kpis["rows"]}
    assert rows["conversion_rate"]["holdout"] == rows["conversion_rate"]["program"] == 1.0
    assert kpis["incremental_revenue"] is not None and kpis["roi"] == pytest.approx((kpis["incremental_revenue"] - 50) / 50)


@pytest.mark.parametrize("query, code", [("breakdown=colour", "bad_breakdown"), ("metric=happiness", "invalid_request"),
                                         ("engine=magic", "invalid_request"), ("min_units=1", "invalid_request")])
def test_bad_results_queries_are_400(aws, query, code):
    create(aws, "hero")
    aws.pump()
    status, body = aws.api("GET", f"/v1/experiments/hero/results?{query}")
    assert status == 400 and body["error"]["code"] == code


def test_results_of_an_unknown_experiment_are_404(aws):
    assert aws.api("GET", "/v1/experiments/nope/results")[0] == 404


def test_the_backlog_ranks_feasible_use_cases_by_gain_per_effort(aws):
    cases = [
        {"title": "Cart cross-sell", "expected_uplift": 0.10, "revenue_at_stake": 50_000, "effort_days": 5,
         "baseline_rate": 0.05, "daily_traffic": 4_000},
        {"title": "Win back at-risk", "target_segment": "lifecycle:at_risk", "expected_uplift": 0.02, "revenue_at_stake": 200_000,
         "effort_days": 2, "baseline_rate": 0.03, "daily_traffic": 300},  # far too small to detect in 8 weeks
        {"title": "Home hero", "expected_uplift": 0.05, "revenue_at_stake": 20_000, "effort_days": 10,
         "baseline_rate": 0.05, "daily_traffic": 20_000},
    ]
    for case in cases:
        status, added = aws.api("POST", "/v1/backlog", case)
        assert status == 201 and added["days_to_detect"] >= 1, added
    ranked = aws.api("GET", "/v1/backlog")[1]["items"]
    assert [i["title"] for i in ranked] == ["Cart cross-sell", "Home hero", "Win back at-risk"]
    assert [i["feasible"] for i in ranked] == [True, True, False] and ranked[0]["expected_monthly_gain"] == 5_000
    unknown = aws.api("POST", "/v1/backlog", {"title": "No data", "expected_uplift": 0.05, "revenue_at_stake": 1, "effort_days": 1})[1]
    assert unknown["days_to_detect"] is None and not unknown["feasible"] and unknown["assumptions"]
    assert aws.api("POST", "/v1/backlog", {"title": "x", "expected_uplift": -1, "revenue_at_stake": 1, "effort_days": 1})[0] == 400


def test_cuped_uses_spend_before_the_exposure_and_reports_the_variance_reduction(aws):
    create(aws, "hero")
    start(aws, "hero")
    spend = {visitor(f"anon-cu{n}"): 10 + 7 * (n % 9) for n in range(24)}
    for unit, amount in spend.items():
        buy(aws, unit, f"{amount}.00", minutes_ago=4)  # before the exposure: the covariate
    aws.pump()
    for unit in spend:
        assign(aws, anonymous_id=unit)
    aws.pump()
    for n, (unit, amount) in enumerate(spend.items()):
        buy(aws, unit, f"{amount + n % 3}.00")  # after: close to what they spent before
    aws.pump()
    plain = aws.api("GET", "/v1/experiments/hero/results?metric=revenue_per_visitor&min_units=5")[1]
    adjusted = aws.api("GET", "/v1/experiments/hero/results?metric=revenue_per_visitor&min_units=5&cuped=true")[1]
    assert plain["cuped_variance_reduction"] is None
    assert adjusted["cuped_variance_reduction"] > 0.9  # spend after is almost spend before
    plain_ci, cuped_ci = plain["overall"]["variants"][0]["ci"], adjusted["overall"]["variants"][0]["ci"]
    assert cuped_ci[1] - cuped_ci[0] < plain_ci[1] - plain_ci[0]


def test_backlog_feasibility_uses_the_target_segments_own_traffic(aws):
    from shared.aws.events import EventPublisher
    from shared.envelope import new_event
    from shared.interactions import ProfileUpdated

    publisher = EventPublisher(aws.name("bus", "persona"))
    at_risk = [f"C-s{n}" for n in range(6)]
    publisher.publish([new_event("ProfileUpdated", ProfileUpdated(profile_id=c, added=["lifecycle:at_risk"], removed=[],
                                                                  segments=["lifecycle:at_risk"]), context="profiles", correlation_id="t")
                       for c in at_risk])
    aws.pump()
    for customer in at_risk + ["C-other1", "C-other2"]:  # the backend may name any customer
        status, body = aws.api("POST", "/v1/server/events", {"events": [{"type": "purchase", "customer_id": customer, "item_id": "sku-1",
                                                                          "value": "10.00", "currency": "EUR",
                                                                          "timestamp": datetime.now(UTC).isoformat()}]})
        assert status == 202 and body["accepted"] == 1, body
    aws.pump()
    status, item = aws.api("POST", "/v1/backlog", {"title": "Win back", "target_segment": "lifecycle:at_risk",
                                                   "expected_uplift": 0.5, "revenue_at_stake": 1000, "effort_days": 1})
    assert status == 201, item
    assert any("segment lifecycle:at_risk's 6 visitors a day" in a for a in item["assumptions"])
    unseen = aws.api("POST", "/v1/backlog", {"title": "VIP", "target_segment": "rfm:champions", "expected_uplift": 0.5,
                                             "revenue_at_stake": 1000, "effort_days": 1, "baseline_rate": 0.1})[1]
    assert any("not seen yet" in a for a in unseen["assumptions"]) and any("8 visitors a day" in a for a in unseen["assumptions"])


def test_the_planner_round_trips_days_and_mde(aws):
    status, planned = aws.api("POST", "/v1/planner", {"baseline_rate": 0.05, "daily_traffic": 2000, "mde": 0.1})
    assert status == 200 and planned["days_needed"] >= 1 and planned["units_per_variant"] > 10_000
    reach = aws.api("POST", "/v1/planner", {"baseline_rate": 0.05, "daily_traffic": 2000, "days": planned["days_needed"]})[1]
    assert 0.09 < reach["mde_reachable"] <= 0.1  # whole days give a little more than asked
    assert aws.api("POST", "/v1/planner", {"baseline_rate": 0.05, "daily_traffic": 2000})[1]["error"]["code"] == "bad_plan"
    assert aws.api("POST", "/v1/planner", {"daily_traffic": 2000, "mde": 0.1})[0] == 400


@pytest.mark.parametrize("plan", [
    {"baseline_rate": 5e-324, "daily_traffic": 2000, "mde": 0.1},  # baseline x mde underflows to 0: was ZeroDivisionError
    {"baseline_mean": 1e-150, "baseline_variance": 1e24, "daily_traffic": 1, "mde": 1e-10},  # infinite units: was OverflowError
    {"baseline_mean": 1e-300, "baseline_variance": 1, "daily_traffic": 1e-300, "days": 1e-300},  # n underflows to 0
])
def test_the_planner_answers_numbers_it_cannot_compute_with_a_400(aws, plan):
    """Found by the API fuzzer (tests/reliability): each was a 500."""
    status, body = aws.api("POST", "/v1/planner", plan)
    assert status == 400 and body["error"]["code"] == "bad_plan" and "beyond" in body["error"]["message"], body


def test_a_backlog_item_stays_finite_and_never_breaks_the_backlog(aws):
    """Found by the API fuzzer: revenue near 1e308 made the gain Infinity (not JSON), and a rate of 1e-300
    raised inside the ranking after the item was stored, so GET /v1/backlog failed from then on."""
    item = {"title": "x", "expected_uplift": 5, "revenue_at_stake": 1e308, "effort_days": 1}
    assert aws.api("POST", "/v1/backlog", item)[0] == 400
    assert aws.api("POST", "/v1/backlog", {**item, "revenue_at_stake": 1000, "effort_days": 1e-300})[0] == 400
    status, tiny = aws.api("POST", "/v1/backlog", {**item, "revenue_at_stake": 1000, "baseline_rate": 1e-300, "daily_traffic": 10})
    assert status == 201 and tiny["days_to_detect"] is None and not tiny["feasible"], tiny
    assert any("beyond what the planner" in a for a in tiny["assumptions"])
    status, backlog = aws.api("GET", "/v1/backlog")
    assert status == 200 and [i["title"] for i in backlog["items"]] == ["x"]
