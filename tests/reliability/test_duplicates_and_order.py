"""At-least-once, unordered delivery: SQS (and EventBridge) may hand a consumer the same
message twice, in the same batch or much later, and in any order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.reliability.conftest import bus_message, cell, deliver, drained, eventually, exposure, profile_counts

pytestmark = [pytest.mark.e2e, pytest.mark.reliability, pytest.mark.usefixtures("no_dead_letters")]


def at(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(hours=1) + timedelta(minutes=minutes)).isoformat()


def interaction(interaction_id: str, visitor: str, type_: str, when: str, **fields) -> dict:
    return {"interaction_id": interaction_id, "type": type_, "occurred_at": when, "anonymous_id": visitor,
            "customer_id": fields.pop("customer_id", None), "context": {}, **fields}


def conversion(interaction_id: str, visitor: str, when: str, value: str) -> dict:
    return {"interaction_id": interaction_id, "anonymous_id": visitor, "customer_id": None, "occurred_at": when,
            "value": value, "currency": "EUR", "item_id": "sku-1", "context": {}}


def test_duplicates_in_one_batch_and_much_later_count_once(runtime, ids):
    visitor, experiment = ids("dup"), ids("dup-exp")
    deliver(runtime, "results_aggregation", [bus_message("experiments", "ExposureLogged", exposure(experiment, visitor, at=at(0)))])
    eventually(lambda: cell(runtime, experiment).get("n") == 1, timeout_s=20)

    views = [bus_message("profiles", "InteractionRecorded", interaction(ids(f"v{i}"), visitor, "page_view", at(1 + i))) for i in range(3)]
    buys = [bus_message("profiles", "InteractionRecorded", interaction(ids(f"b{i}"), visitor, "purchase", at(5 + i),
                                                                        value=f"{20 + i}.00", currency="EUR")) for i in range(2)]
    conversions = [bus_message("profiles", "ConversionRecorded", conversion(ids(f"b{i}"), visitor, at(5 + i), f"{20 + i}.00"))
                   for i in range(2)]
    for queue_id, bodies in (("profiles_interactions", views + buys), ("results_aggregation", views + conversions)):
        deliver(runtime, queue_id, bodies + bodies)  # twice in the same batch
        deliver(runtime, queue_id, bodies, delay_s=3)  # and again in a later one
    eventually(lambda: drained(runtime, "profiles_interactions", "results_aggregation"), timeout_s=30)

    counts = profile_counts(runtime, visitor)
    assert (counts["total"], counts["by_type"]) == (5, {"page_view": 3, "purchase": 2})
    counters = cell(runtime, experiment)
    assert (counters["n"], counters["conv"], counters["ord"], counters["rev"]) == (1, 1, 2, Decimal("41.00"))


def test_out_of_order_delivery_changes_nothing(runtime, ids):
    visitor, customer, experiment = ids("ooo-anon"), ids("ooo-customer"), ids("ooo-exp")
    # A conversion overtakes its exposure (the exposure's first delivery failed, say).
    deliver(runtime, "results_aggregation", [bus_message("experiments", "ExposureLogged", exposure(experiment, visitor, at=at(0)))],
            delay_s=3)
    deliver(runtime, "results_aggregation", [bus_message("profiles", "ConversionRecorded", conversion(ids("buy"), visitor, at(10), "35.00"))])
    # The visitor's browsing arrives after the login that linked it to the customer.
    deliver(runtime, "profiles_interactions", [bus_message("profiles", "InteractionRecorded", interaction(
        ids("login"), visitor, "identify", at(20), customer_id=customer))])
    deliver(runtime, "profiles_interactions", [bus_message("profiles", "InteractionRecorded", interaction(
        ids(f"v{i}"), visitor, "page_view", at(1 + i))) for i in range(4)], delay_s=3)
    eventually(lambda: drained(runtime, "profiles_interactions", "results_aggregation"), timeout_s=30)

    counts = profile_counts(runtime, customer)
    assert (counts["total"], counts["by_type"]) == (5, {"identify": 1, "page_view": 4})
    assert profile_counts(runtime, visitor) == counts  # the anonymous id resolves to the customer
    counters = cell(runtime, experiment)
    assert (counters["n"], counters["conv"], counters["ord"], counters["rev"]) == (1, 1, 1, Decimal("35.00"))
