"""A consumer that dies mid-batch (timeout, out of memory, a lost response after a commit):
the whole batch comes back, and what was written before the crash is not counted again."""

from __future__ import annotations

import pytest
from botocore.exceptions import ReadTimeoutError

from tests.reliability.conftest import (
    Countdown,
    after_commit,
    cell,
    consented,
    drained,
    eventually,
    exposure,
    now,
    post_events,
    profile_counts,
    publish,
)

pytestmark = [pytest.mark.e2e, pytest.mark.reliability, pytest.mark.usefixtures("no_dead_letters")]


def test_interactions_counted_before_a_crash_are_not_counted_again(runtime, ids, anon, monkeypatch):
    visitor = consented(runtime, anon("crash"))  # browsing is stored only with consent
    real = runtime.invoker._handlers["profiles_interactions"]
    crash = Countdown(1)

    def dies_halfway(event, context):
        records = event["Records"]
        if len(records) > 1 and crash():
            real({**event, "Records": records[: len(records) // 2]}, context)  # written, never acknowledged
            raise RuntimeError("Runtime exited with error: signal: killed")  # the dispatcher returns the batch
        return real(event, context)

    monkeypatch.setitem(runtime.invoker._handlers, "profiles_interactions", dies_halfway)
    events = [{"type": "product_view", "event_id": ids(f"view-{i}"), "anonymous_id": visitor, "timestamp": now(),
               "item_id": f"sku-{i % 3}", "category": "shoes"} for i in range(30)]
    assert post_events(runtime, events)[0] == 202
    eventually(lambda: crash.fired and drained(runtime, "profiles_interactions"), timeout_s=30)
    counts = profile_counts(runtime, visitor)
    assert (counts["total"], counts["by_type"]) == (30, {"product_view": 30})


def test_aggregation_transactions_committed_before_a_crash_are_not_counted_again(runtime, ids):
    """60 exposures, one batch here (two transactions of ≤ 100 items): the first commits,
    then its response is lost, the handler fails as if it had crashed and SQS redelivers
    the whole batch."""
    experiment = ids("crash-exp")
    crash = Countdown(1)

    def lost_response() -> None:
        if crash():
            raise ReadTimeoutError(endpoint_url="http://dynamodb")

    with after_commit(runtime.endpoints.tables["results"], lost_response):
        publish(runtime, "experiments", "ExposureLogged",
                *(exposure(experiment, ids(f"unit-{i}"), "control" if i % 2 else "treatment") for i in range(60)))
        eventually(lambda: crash.fired and drained(runtime, "results_aggregation"), timeout_s=30)
    assert (cell(runtime, experiment, "control")["n"], cell(runtime, experiment, "treatment")["n"]) == (30, 30)
