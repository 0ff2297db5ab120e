"""Dead letters on moto: the redrive's move, the local DLQ alarm and `persona dlq`'s rows."""

from __future__ import annotations

import json

import pytest

from infra.local import dead_letters
from infra.local.dead_letters import DeadLetterAlarms, UnknownQueue
from infra.local.runtime import Endpoints
from shared.aws import queues

QUEUE = "results_aggregation"


@pytest.fixture
def sqs(aws):
    return aws.client("sqs")


def endpoints(aws) -> Endpoints:
    return Endpoints(api_url="", aws_endpoint_url="", region="eu-west-1", admin_api_key="", server_key="", drop_bucket="", tables={}, buckets={},
                     queues=dict(aws.resources.queue_urls), dead_letter_queues=dict(aws.resources.dlq_urls), event_bus="persona")


def dead_letter(sqs, aws, body: str) -> None:
    sqs.send_message(QueueUrl=aws.resources.dlq_urls[QUEUE], MessageBody=body,
                     MessageAttributes={"ERROR_CODE": {"DataType": "String", "StringValue": "SQS_QUEUE_NOT_FOUND"}})


def test_redrive_moves_bodies_and_attributes_back_up_to_the_limit(aws, sqs):
    for n in range(3):
        dead_letter(sqs, aws, json.dumps({"n": n}))
    rows = dead_letters.redrive(endpoints(aws), [QUEUE], limit=2, sqs=sqs)
    assert rows == [{"queue": QUEUE, "from": "persona-results-aggregation-dlq", "to": "persona-results-aggregation",
                     "dry_run": False, "moved": 2, "left": 1}]
    moved = sqs.receive_message(QueueUrl=aws.resources.queue_urls[QUEUE], MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert len(moved) == 2 and len({json.loads(m["Body"])["n"] for m in moved}) == 2  # bodies intact, each once
    assert all(m["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "SQS_QUEUE_NOT_FOUND" for m in moved)
    assert dead_letters.redrive(endpoints(aws), [QUEUE], dry_run=True, sqs=sqs) == [{
        "queue": QUEUE, "from": "persona-results-aggregation-dlq", "to": "persona-results-aggregation", "dry_run": True,
        "moved": 1, "left": 0}]
    assert queues.depth(aws.resources.dlq_urls[QUEUE], sqs=sqs) == 1  # a dry run moves nothing
    assert queues.move(aws.resources.dlq_urls[QUEUE], aws.resources.queue_urls[QUEUE], sqs=sqs) == 1
    assert queues.move(aws.resources.dlq_urls[QUEUE], aws.resources.queue_urls[QUEUE], sqs=sqs) == 0


def test_queues_are_named_by_id_name_or_dlq_name():
    ids = ["profiles_interactions", QUEUE]
    assert {dead_letters.resolve(n, ids) for n in (QUEUE, "persona-results-aggregation", "persona-results-aggregation-dlq",
                                                   "results-aggregation")} == {QUEUE}
    with pytest.raises(UnknownQueue, match="valid queues: profiles_interactions, results_aggregation"):
        dead_letters.resolve("results", ids)


def test_the_alarm_is_raised_once_per_dead_letter_episode_and_kept_for_persona_status(aws, sqs, tmp_path, caplog):
    alarms = DeadLetterAlarms(aws.resources.dlq_urls, sqs, state_dir=tmp_path)
    assert alarms.check() == [] and not (tmp_path / "alarms.json").exists()
    dead_letter(sqs, aws, "{}")
    (raised,) = alarms.check()
    assert (raised["queue"], raised["dead_letters"], raised["redrive"]) == (QUEUE, 1, "persona redrive results_aggregation")
    assert "ALARM results_aggregation" in caplog.text and "persona redrive results_aggregation" in caplog.text
    dead_letter(sqs, aws, "{}")
    assert alarms.check() == []  # still in ALARM: not raised again
    assert dead_letters.raised_alarms(tmp_path) == [raised]
    rows = {r["queue"]: r for r in dead_letters.depths(endpoints(aws), sqs=sqs)}
    assert (rows[QUEUE]["dead_letters"], rows[QUEUE]["alarm"]) == (2, "ALARM") and rows["profiles_interactions"]["alarm"] == "OK"
    assert "replay after fixing the cause: persona redrive results_aggregation" in dead_letters.render_depths(list(rows.values()))
    dead_letters.redrive(endpoints(aws), [QUEUE], sqs=sqs)
    alarms.check()
    assert alarms.state[QUEUE] == "OK" and json.loads((tmp_path / "alarms.json").read_text())["state"][QUEUE] == "OK"
    alarms.stop()
    assert dead_letters.raised_alarms(tmp_path) == []  # the instance is gone
