"""EventPublisher against a fake PutEvents: batching, retries of failed entries only."""

from __future__ import annotations

import pytest

from shared.aws.events import MAX_ENTRY_BYTES, EventPublisher, PublishError
from shared.envelope import new_event


class FakeEvents:
    def __init__(self, fail_plan=None):
        self.calls = []
        self.fail_plan = list(fail_plan or [])  # per call: set of positions that fail

    def put_events(self, Entries):
        self.calls.append(Entries)
        failing = self.fail_plan.pop(0) if self.fail_plan else set()
        results = [({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"} if i in failing else {"EventId": f"e{i}"}) for i in range(len(Entries))]
        return {"FailedEntryCount": len(failing), "Entries": results}


def envelopes(n):
    return [new_event("InteractionRecorded", {"n": i}, context="profiles", correlation_id="r") for i in range(n)]


def publisher(fake, **kwargs):
    return EventPublisher("bus", events_client=fake, sleep=lambda s: None, **kwargs)


def test_batches_of_at_most_ten():
    fake = FakeEvents()
    assert publisher(fake).publish(envelopes(23)) == 23
    assert [len(c) for c in fake.calls] == [10, 10, 3]
    entry = fake.calls[0][0]
    assert (entry["EventBusName"], entry["Source"], entry["DetailType"]) == ("bus", "persona.profiles", "InteractionRecorded")


def test_only_failed_entries_are_retried():
    fake = FakeEvents(fail_plan=[{1, 4}])
    publisher(fake).publish(envelopes(5))
    assert len(fake.calls) == 2
    assert fake.calls[1] == [fake.calls[0][1], fake.calls[0][4]]


def test_gives_up_after_max_attempts_with_the_error_codes():
    fake = FakeEvents(fail_plan=[{0}, {0}, {0}])
    with pytest.raises(PublishError, match="ThrottlingException") as error:
        publisher(fake, max_attempts=3).publish(envelopes(2))
    assert len(fake.calls) == 3 and error.value.status == 503
    assert error.value.failed == [{"detail_type": "InteractionRecorded", "ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}]


def test_an_oversized_event_is_refused_before_sending():
    fake = FakeEvents()
    big = new_event("X", {"blob": "x" * MAX_ENTRY_BYTES}, context="c", correlation_id="r")
    with pytest.raises(ValueError, match="larger than"):
        publisher(fake).publish([big])
    assert fake.calls == []
