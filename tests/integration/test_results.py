"""Results aggregation end to end over moto: assignments and storefront purchases through
the APIs, counted per variant and crossed cell exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.results.aggregation import ALL, cell_key
from functions.results.store import results_store
from infra.local.dispatcher import sqs_event
from infra.topology import TOPOLOGY
from shared import settings
from shared.bucketing import in_global_holdout
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
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    status, body = aws.api("POST", "/v1/events", {"events": [
        {"type": "purchase", "anonymous_id": unit, "item_id": "sku-1", "value": value, "currency": "EUR", "timestamp": at}]})
    assert status == 202 and body["accepted"] == 1, body


def test_exposures_and_conversions_are_counted_per_variant_and_cell(aws):
    create(aws, "hero")
    start(aws, "hero")
    units = [f"anon-r{n}" for n in range(12)]
    chosen = {}
    for n, unit in enumerate(units):
        context = {"device": "mobile" if n % 2 else "desktop", "locale": "de-DE"}
        chosen[unit] = assign(aws, anonymous_id=unit, context=context)["assignments"][0]["variant"]
    aws.pump()
    buyers = units[:4]
    for unit in buyers:
        buy(aws, unit, "20.00")
    buy(aws, units[0], "30.00")  # a second order of the same unit
    aws.pump()

    cells = counters("hero")
    for variant in ("control", "warm"):
        members = [u for u in units if chosen[u] == variant]
        overall = cells[(ALL, variant)]
        assert overall["n"] == len(members)
        assert overall["conv"] == sum(u in buyers for u in members)
        revenue = {u: (50.0 if u == units[0] else 20.0) for u in buyers}
        assert overall["rev"] == sum(revenue.get(u, 0) for u in members)
        assert overall["rev2"] == sum(revenue.get(u, 0) ** 2 for u in members)
        mobile = cells.get((cell_key(device="mobile", market="DE"), variant), {"n": 0})
        assert mobile["n"] == sum(1 for u in members if units.index(u) % 2)


def test_a_conversion_before_the_exposure_does_not_count(aws):
    create(aws, "hero")
    start(aws, "hero")
    buy(aws, "anon-early", "99.00", minutes_ago=3)
    aws.pump()
    variant = assign(aws, anonymous_id="anon-early")["assignments"][0]["variant"]
    aws.pump()
    assert counters("hero")[(ALL, variant)].get("conv", 0) == 0


def test_duplicate_and_replayed_deliveries_never_double_count(aws):
    create(aws, "hero")
    start(aws, "hero")
    variant = assign(aws, anonymous_id="anon-dup")["assignments"][0]["variant"]
    buy(aws, "anon-dup", "15.00")
    aws.pump()
    before = counters("hero")
    # Replay everything the aggregation consumed, as SQS at-least-once delivery may.
    aws.api("POST", "/v1/events", {"events": [{"type": "purchase", "anonymous_id": "anon-dup", "item_id": "sku-1", "value": "15.00",
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
    units = [f"anon-p{n}" for n in range(10)]
    for unit in units:
        buy(aws, unit, "10.00")
    aws.pump()
    cells = counters("_program")
    held = sum(in_global_holdout(u, 0.5) for u in units)
    assert cells[(ALL, "holdout")]["n"] == held and cells[(ALL, "program")]["n"] == len(units) - held
    assert cells[(ALL, "program")]["rev"] == 10.0 * (len(units) - held)
