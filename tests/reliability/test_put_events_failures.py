"""EventBridge PutEvents partial failures: FailedEntryCount > 0 with some entries published."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from shared.aws import clients
from tests.reliability.conftest import (
    cell,
    consented,
    drained,
    eventually,
    exposure,
    http,
    now,
    post_events,
    post_server_events,
    profile_counts,
    publish,
    purchase,
)

pytestmark = [pytest.mark.e2e, pytest.mark.reliability, pytest.mark.usefixtures("no_dead_letters")]


class PartialFailures:
    """Wraps the handlers' PutEvents: entries `fails(entry, attempt)` picks are answered with
    an error code, the others really published, in one response (as EventBridge does)."""

    def __init__(self, fails) -> None:
        self.fails = fails
        self.real = clients.client("events").put_events
        self.attempts: Counter[str] = Counter()
        self.rejected = 0
        self._lock = threading.Lock()

    def __call__(self, Entries: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:  # noqa: N803 - boto3's name
        with self._lock:
            plan = []
            for entry in Entries:
                self.attempts[entry["Detail"]] += 1
                plan.append(self.fails(entry, self.attempts[entry["Detail"]]))
        passed = [e for e, failed in zip(Entries, plan) if not failed]
        answered = iter(self.real(Entries=passed, **kwargs)["Entries"] if passed else [])
        results = [{"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"} if failed else next(answered)
                   for failed in plan]
        self.rejected += sum(plan)
        return {"FailedEntryCount": sum(plan), "Entries": results}


@pytest.fixture
def experiment(runtime, ids, anon):
    """An experiment with one exposed visitor (as the experiments context would publish it)."""
    key, visitor = ids("exp"), consented(runtime, anon("shopper"))  # browsing is stored only with consent
    publish(runtime, "experiments", "ExposureLogged", exposure(key, visitor))
    eventually(lambda: cell(runtime, key).get("n") == 1, timeout_s=20)
    return key, visitor


def test_entries_rejected_once_are_retried_and_counted_once(runtime, ids, experiment, monkeypatch):
    key, visitor = experiment
    fault = PartialFailures(lambda entry, attempt: attempt == 1 and '"type":"page_view"' not in entry["Detail"])
    monkeypatch.setattr(clients.client("events"), "put_events", fault)
    views = [{"type": "page_view", "event_id": ids(f"view-{i}"), "anonymous_id": visitor, "timestamp": now()} for i in range(6)]
    buys = [purchase(visitor, ids(f"buy-{i}"), f"{10 + i}.50") for i in range(4)]
    assert post_events(runtime, views)[0] == 202  # the storefront's
    assert post_server_events(runtime, buys)[0] == 202  # the retailer's order system's: only it sends purchases' value
    assert fault.rejected == 8  # each purchase's InteractionRecorded and ConversionRecorded, once

    eventually(lambda: drained(runtime, "profiles_interactions", "results_aggregation"), timeout_s=20)
    counts, counters = profile_counts(runtime, visitor), cell(runtime, key)
    assert (counts["total"], counts["by_type"]) == (10, {"page_view": 6, "purchase": 4})
    assert (counters["n"], counters["conv"], counters["ord"], counters["rev"]) == (1, 1, 4, Decimal("48.00"))


def test_a_batch_answered_503_and_sent_again_is_counted_once(runtime, ids, experiment, monkeypatch):
    """Entries still rejected after every retry: the API answers 503 although the others were
    published; the sender sends the same batch again (same event ids). Purchases come from the
    retailer's backend (/v1/server/events), so its order system is the sender here."""
    key, visitor = experiment
    doomed = ids("buy-1")
    fault = PartialFailures(lambda entry, attempt: doomed in entry["Detail"] and entry["DetailType"] == "ConversionRecorded")
    monkeypatch.setattr(clients.client("events"), "put_events", fault)
    view = [{"type": "page_view", "event_id": ids("view"), "anonymous_id": visitor, "timestamp": now()}]
    assert post_events(runtime, view)[0] == 202
    batch = [purchase(visitor, ids("buy-0"), "20.00"), purchase(visitor, doomed, "30.00"), purchase(visitor, ids("buy-2"), "50.00")]
    status, body = post_server_events(runtime, batch)
    assert status == 503 and body["error"]["code"] == "service_unavailable", body
    monkeypatch.undo()

    assert post_server_events(runtime, batch)[0] == 202  # the order system's retry
    eventually(lambda: drained(runtime, "profiles_interactions", "results_aggregation"), timeout_s=20)
    counts, counters = profile_counts(runtime, visitor), cell(runtime, key)
    assert (counts["total"], counts["by_type"]) == (4, {"page_view": 1, "purchase": 3})
    assert (counters["conv"], counters["ord"], counters["rev"]) == (1, 3, Decimal("100.00"))


def test_events_a_consumer_could_not_publish_are_published_on_redelivery(runtime, ids, anon, monkeypatch):
    """The interactions consumer writes first (a link, a count), then publishes what follows from it;
    when PutEvents rejects that past the publisher's retries, the message fails and comes back,
    finds its writes done, and must still publish (an unsubscribe, a login). The customer is signed in
    (events naming a customer id need their session), and only `identify` links the visitor."""
    customer, visitor = consented(runtime, ids("unsubscriber"), signed_in=True), anon("anon-linked")  # browsing needs consent
    fault = PartialFailures(lambda entry, attempt: entry["DetailType"] in ("ConsentReported", "IdentityLinked") and attempt <= 4)
    monkeypatch.setattr(clients.client("events"), "put_events", fault)
    failed_before = runtime.dispatcher.stats["profiles_interactions.failed"]
    events = [{"type": "unsubscribe", "event_id": ids("unsub"), "customer_id": customer, "timestamp": now()},
              {"type": "identify", "event_id": ids("login"), "anonymous_id": visitor, "customer_id": customer, "timestamp": now()},
              {"type": "product_view", "event_id": ids("view"), "anonymous_id": visitor, "customer_id": customer,
               "timestamp": now(), "item_id": "sku-1"}]
    status, body = post_events(runtime, events, signed_in=customer)
    assert status == 202 and body["accepted"] == 3, body
    eventually(lambda: runtime.dispatcher.stats["profiles_interactions.failed"] > failed_before, timeout_s=20)
    monkeypatch.undo()
    eventually(lambda: drained(runtime, "profiles_interactions", "privacy_orchestration", "results_aggregation"), timeout_s=20)

    signed_in = {"X-Persona-Session": runtime.storefront_session(customer)}  # a known customer's consents are theirs
    consents = http("GET", f"{runtime.endpoints.api_url}/v1/consents/{customer}", headers=signed_in)[1]
    assert consents["purposes"]["email_marketing"]["granted"] is False, consents
    linked = runtime.client("dynamodb").get_item(TableName=runtime.endpoints.tables["results"],
                                                 Key={"pk": {"S": f"UNIT#{visitor}"}, "sk": {"S": "LINKED_TO"}}).get("Item")
    assert linked and linked["customer_id"]["S"] == customer  # results learnt the link
    counts = profile_counts(runtime, customer)
    assert (counts["total"], counts["by_type"]) == (3, {"identify": 1, "product_view": 1, "unsubscribe": 1})
