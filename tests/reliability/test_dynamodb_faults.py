"""DynamoDB throttling and conditional-check conflicts, answered as DynamoDB answers them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from functions.results import aggregation
from functions.results.store import results_store
from shared.envelope import derived_event_id
from tests.reliability.conftest import (
    Countdown,
    Script,
    aws_error,
    cell,
    consented,
    drained,
    eventually,
    exposure,
    now,
    on_send,
    post_events,
    post_server_events,
    profile_counts,
    publish,
    purchase,
    touches,
)

pytestmark = [pytest.mark.e2e, pytest.mark.reliability, pytest.mark.usefixtures("no_dead_letters")]


THROTTLED = "Throughput exceeds the current capacity of your table or index."


def provisioned_throughput_exceeded():
    return aws_error("ProvisionedThroughputExceededException", THROTTLED)  # the SDK retries it (5 attempts)


def transaction_throttled():
    return aws_error("TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons [ThrottlingError]",
                     CancellationReasons=[{"Code": "ThrottlingError", "Message": THROTTLED}])  # the SDK does not


def test_throttling_beyond_the_sdk_retries_loses_and_doubles_nothing(runtime, ids, anon, fast_sdk_retries):
    experiment = ids("throttle-exp")
    visitors = [consented(runtime, anon(f"throttled-{i}")) for i in range(10)]  # browsing is stored only with consent
    tables = runtime.endpoints.tables
    # More throttles in a row than the SDK's 5 attempts: two calls per table fail and their
    # messages come back from SQS (no message fails 3 times, which would dead-letter it).
    faults = {tables["profiles"]: Script([provisioned_throughput_exceeded] * 12),
              tables["results"]: Script([transaction_throttled] + [provisioned_throughput_exceeded] * 6)}

    def answer(body: dict):
        return next((fault() for table, fault in faults.items() if touches(body, table)), None)

    failed_before = sum(runtime.dispatcher.stats[f"{q}.failed"] for q in ("profiles_interactions", "results_aggregation"))
    with on_send("dynamodb", "TransactWriteItems", answer):
        publish(runtime, "experiments", "ExposureLogged", *(exposure(experiment, v, "control" if i % 2 else "treatment")
                                                             for i, v in enumerate(visitors)))
        eventually(lambda: drained(runtime, "results_aggregation"), timeout_s=30)
        # The visitors' views from the storefront, their orders from the retailer's backend (only it sends their value).
        views = [{"type": "page_view", "event_id": ids(f"view-{i}"), "anonymous_id": v, "timestamp": now()} for i, v in enumerate(visitors)]
        assert post_events(runtime, views)[0] == 202
        assert post_server_events(runtime, [purchase(v, ids(f"buy-{i}"), f"{10 + i}.00") for i, v in enumerate(visitors)])[0] == 202
        eventually(lambda: all(f.done for f in faults.values()) and drained(runtime, "profiles_interactions", "results_aggregation"),
                   timeout_s=45)
    assert sum(runtime.dispatcher.stats[f"{q}.failed"] for q in ("profiles_interactions", "results_aggregation")) > failed_before

    for v in visitors:
        counts = profile_counts(runtime, v)
        assert (counts["total"], counts["by_type"]) == (2, {"page_view": 1, "purchase": 1}), v
    control, treatment = cell(runtime, experiment, "control"), cell(runtime, experiment, "treatment")
    assert (control["n"] + treatment["n"], control["conv"] + treatment["conv"], control["ord"] + treatment["ord"]) == (10, 10, 10)
    assert control["rev"] + treatment["rev"] == sum(Decimal(10 + i) for i in range(10))


def test_a_concurrent_writer_and_transaction_conflicts_lose_and_double_nothing(runtime, ids, anon):
    """Another container changes the unit's outcome between this batch's read and its write
    (the version condition fails: ConditionalCheckFailed), and DynamoDB cancels transactions
    that collide with others in flight (TransactionConflict)."""
    experiment, visitor = ids("conflict-exp"), anon("conflicted")
    publish(runtime, "experiments", "ExposureLogged", exposure(experiment, visitor))
    eventually(lambda: cell(runtime, experiment).get("n") == 1, timeout_s=20)
    first, second = purchase(visitor, ids("buy-1"), "20.00"), purchase(visitor, ids("buy-2"), "30.00")
    outcome_key = f"UNIT#{visitor}"
    concurrent = Countdown(1)
    conflicts = Script([lambda: aws_error(  # not retried by the SDK: each fails the message once
        "TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons [TransactionConflict]",
        CancellationReasons=[{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}])] * 2)

    def answer(body: dict):
        if touches(body, runtime.endpoints.tables["profiles"]) and not conflicts.done:
            return conflicts()
        if outcome_key in str(body) and f"EXPOSED#{experiment}" in str(body) and concurrent():
            # The other container applies the second purchase first (as its own consumer would).
            store = results_store()
            old = store.outcomes([visitor])[(visitor, experiment)]
            new, deltas = aggregation.conversion(old, Decimal("30.00"))
            assert store.apply(derived_event_id("ConversionRecorded", second["event_id"]), visitor, experiment, old, new, deltas,
                               datetime.now(UTC))
        return None  # this batch's own transaction goes on, against the changed item

    failed_before = runtime.dispatcher.stats["results_aggregation.failed"]
    with on_send("dynamodb", "TransactWriteItems", answer):
        assert post_server_events(runtime, [first])[0] == 202  # orders come from the retailer's backend
        eventually(lambda: concurrent.fired and conflicts.done and drained(runtime, "profiles_interactions", "results_aggregation"),
                   timeout_s=30)
    assert runtime.dispatcher.stats["results_aggregation.failed"] > failed_before  # the conflict failed it once
    # The second purchase's own message arrives too (the other container's delivery, redelivered).
    assert post_server_events(runtime, [second])[0] == 202
    eventually(lambda: drained(runtime, "profiles_interactions", "results_aggregation"), timeout_s=20)

    counts = profile_counts(runtime, visitor)
    assert (counts["total"], counts["by_type"]) == (2, {"purchase": 2})
    counters = cell(runtime, experiment)
    assert (counters["n"], counters["conv"], counters["ord"], counters["rev"]) == (1, 1, 2, Decimal("50.00"))
