"""A poison message: retried alone, dead-lettered with an alarm, replayed by `persona redrive`."""

from __future__ import annotations

import json

import pytest

from functions.profiles import consumers as profiles_consumers
from persona import cli
from tests.reliability.conftest import consented, dead_letters, eventually, now, post_events, profile_counts

pytestmark = [pytest.mark.e2e, pytest.mark.reliability, pytest.mark.usefixtures("no_dead_letters")]
QUEUE = "profiles_interactions"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_poison_message_is_dead_lettered_with_an_alarm_and_redrive_replays_it(runtime, ids, anon, monkeypatch, capsys):
    visitor, poison = consented(runtime, anon("poisoned")), ids("poison-event")  # browsing is stored only with consent
    state = ["--state-dir", str(runtime.state_dir)]
    real = profiles_consumers._count_interaction

    def buggy(record):  # a bug that only this event's content triggers
        if poison in record.body:
            raise ValueError("cannot count this one")
        return real(record)

    monkeypatch.setattr(profiles_consumers, "_count_interaction", buggy)
    alarms_before = len(runtime.alarms.raised)
    events = [{"type": "page_view", "event_id": ids(f"ok-{i}"), "anonymous_id": visitor, "timestamp": now()} for i in range(4)]
    events.insert(2, {"type": "page_view", "event_id": poison, "anonymous_id": visitor, "timestamp": now()})
    assert post_events(runtime, events)[0] == 202

    (message,) = eventually(lambda: dead_letters(runtime, QUEUE), timeout_s=30)
    assert poison in message["Body"]
    assert int(message["Attributes"]["ApproximateReceiveCount"]) >= runtime.topology.queue(QUEUE).max_receive_count
    assert profile_counts(runtime, visitor)["total"] == 4  # its neighbours counted, once

    # The alarm: raised once, on the runtime and for `persona status`, naming the redrive command.
    (alarm,) = eventually(lambda: runtime.alarms.raised[alarms_before:], timeout_s=5)
    assert (alarm["queue"], alarm["dead_letters"], alarm["redrive"]) == (QUEUE, 1, f"persona redrive {QUEUE}")
    assert runtime.alarms.state[QUEUE] == "ALARM"
    code, out, _ = run_cli(capsys, "status", *state)
    assert code == 0 and alarm in json.loads(out)["alarms"]
    code, out, _ = run_cli(capsys, "dlq", *state, "--json")
    rows = {r["queue"]: r for r in json.loads(out)}
    assert code == 0 and (rows[QUEUE]["dead_letters"], rows[QUEUE]["alarm"]) == (1, "ALARM")
    assert all(r["alarm"] == "OK" for q, r in rows.items() if q != QUEUE)
    code, out, _ = run_cli(capsys, "dlq", *state)
    assert f"persona redrive {QUEUE}" in out

    # Redrive validates the queue and can count first; nothing moves yet.
    code, _, err = run_cli(capsys, "redrive", "no-such-queue", *state)
    assert code == 2 and QUEUE in err and "results_aggregation" in err
    code, out, _ = run_cli(capsys, "redrive", "persona-profiles-interactions", "--dry-run", *state)
    assert code == 0 and "would move 1" in out
    assert len(dead_letters(runtime, QUEUE)) == 1

    # The bug fixed, the redrive replays the message and the count is complete.
    monkeypatch.setattr(profiles_consumers, "_count_interaction", real)
    code, out, _ = run_cli(capsys, "redrive", QUEUE, *state, "--json")
    assert code == 0 and json.loads(out) == [{"queue": QUEUE, "from": "persona-profiles-interactions-dlq",
                                              "to": "persona-profiles-interactions", "dry_run": False, "moved": 1, "left": 0}]
    eventually(lambda: profile_counts(runtime, visitor)["total"] == 5, timeout_s=20)
    eventually(lambda: runtime.alarms.state[QUEUE] == "OK", timeout_s=5)
    assert not dead_letters(runtime, QUEUE)
    code, out, _ = run_cli(capsys, "redrive", "--all", *state)
    assert code == 0 and out.strip() == "no dead letters in any queue"
    assert profile_counts(runtime, visitor)["total"] == 5  # replayed once, counted once
