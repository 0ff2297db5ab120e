"""The local runtime in process: it is built from the topology and behaves like AWS's wiring."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from infra.local.runtime import LocalRuntime
from infra.topology import TOPOLOGY
from tests.e2e.conftest import eventually, http

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    with pytest.MonkeyPatch.context():
        local = LocalRuntime(api_port=0, aws_port=0, state_dir=tmp_path_factory.mktemp("state"))
        local.start()
        yield local
        local.stop()


def test_every_resource_of_the_topology_exists(runtime):
    tables = set(runtime.client("dynamodb").list_tables()["TableNames"])
    assert tables == {f"persona-{t.id.replace('_', '-')}" for t in TOPOLOGY.tables}
    buckets = {b["Name"] for b in runtime.client("s3").list_buckets()["Buckets"]}
    assert buckets == {f"persona-{b.id.replace('_', '-')}" for b in TOPOLOGY.buckets}
    queue_urls = set(runtime.client("sqs").list_queues()["QueueUrls"])
    for queue in TOPOLOGY.queues:
        name = f"persona-{queue.id.replace('_', '-')}"
        assert any(u.endswith("/" + name) for u in queue_urls) and any(u.endswith(f"/{name}-dlq") for u in queue_urls)
        attributes = runtime.client("sqs").get_queue_attributes(QueueUrl=runtime.resources.queue_urls[queue.id], AttributeNames=["RedrivePolicy"])
        assert json.loads(attributes["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == queue.max_receive_count
    events = runtime.client("events")
    rules = {r["Name"]: r for r in events.list_rules(EventBusName=TOPOLOGY.bus)["Rules"]}
    for rule in TOPOLOGY.rules:
        found = rules[f"persona-{rule.id.replace('_', '-')}"]
        assert json.loads(found["EventPattern"]) == rule.pattern
        targets = events.list_targets_by_rule(Rule=found["Name"], EventBusName=TOPOLOGY.bus)["Targets"]
        assert [t["Arn"] for t in targets] == [runtime.resources.queue_arns[rule.queue]]
    for bucket in TOPOLOGY.buckets:
        config = runtime.client("s3").get_bucket_notification_configuration(Bucket=f"persona-{bucket.id.replace('_', '-')}")
        arns = [c["QueueArn"] for c in config.get("QueueConfigurations", [])]
        assert arns == [runtime.resources.queue_arns[n.queue] for n in bucket.notifications]


def test_every_route_reaches_its_function(runtime):
    api, admin = runtime.endpoints.api_url, {"x-api-key": runtime.endpoints.admin_api_key}
    for route in TOPOLOGY.routes:
        path = route.path.replace("{", "").replace("}", "")  # any value for path parameters
        status, body = http(route.method, api + path, {"events": [{}]} if route.method == "POST" else None, headers=admin)
        # Whatever the answer, it came from the route's handler, not the gateway's "no route".
        assert status < 500, (route, status, body)
        assert not (isinstance(body, dict) and body.get("error", {}).get("code") in {"route_not_found", "method_not_allowed"})


def test_a_poison_message_is_retried_alone_then_dead_lettered(runtime):
    sqs = runtime.client("sqs")
    queue_url = runtime.resources.queue_urls["profiles_interactions"]
    dlq_url = runtime.resources.dlq_urls["profiles_interactions"]
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"not": "an EventBridge event"}')
    now = datetime.now(UTC).isoformat()
    http("POST", runtime.endpoints.api_url + "/v1/events", {"events": [{"type": "page_view", "anonymous_id": "anon-poison-neighbour", "timestamp": now}]})

    def dead_lettered():
        return sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"], WaitTimeSeconds=1).get("Messages")

    (message,) = eventually(dead_lettered, timeout_s=30)
    assert message["Body"] == '{"not": "an EventBridge event"}'
    # It was received max_receive_count times before SQS moved it.
    assert int(message["Attributes"]["ApproximateReceiveCount"]) >= TOPOLOGY.queue("profiles_interactions").max_receive_count
    status, profile = http("GET", runtime.endpoints.api_url + "/v1/profiles/anon-poison-neighbour", headers={"x-api-key": runtime.endpoints.admin_api_key})
    assert status == 200 and profile["interactions"]["total"] == 1  # the good neighbour counted once
    assert runtime.dispatcher.stats["profiles_interactions.failed"] >= TOPOLOGY.queue("profiles_interactions").max_receive_count
