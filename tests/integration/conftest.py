from __future__ import annotations

import json
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from infra.local.provision import REGION, Provisioned, provision
from infra.topology import TOPOLOGY
from shared import settings
from shared.aws import clients


@dataclass
class Aws:
    resources: Provisioned

    def client(self, service: str):
        return boto3.client(service, region_name=REGION)

    def name(self, kind: str, resource_id: str) -> str:
        return self.resources.names[(kind, resource_id)]

    def capture(self, *detail_types: str):
        """Route these events on the bus to a test queue; returns a reader of their `data`
        (for events no topology consumer subscribes to yet)."""
        sqs, events = self.client("sqs"), self.client("events")
        name = "test-capture-" + "-".join(detail_types).lower()[:50]
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = self.name("bus", "persona")
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"detail-type": list(detail_types)}))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

        def read() -> list[tuple[str, dict]]:
            out = []
            while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                out += [json.loads(m["Body"]) for m in batch]
                sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
            return [(body["detail-type"], body["detail"]["data"]) for body in out]

        return read

    def drain(self, queue_id: str, max_messages: int = 100) -> list[dict]:
        """Every message currently in a queue (deleted as read)."""
        sqs, url, out = self.client("sqs"), self.resources.queue_urls[queue_id], []
        while len(out) < max_messages:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
            if not batch:
                return out
            out.extend(batch)
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
        return out


@pytest.fixture
def aws(monkeypatch):
    """The whole topology in moto (in process), with the functions' environment set."""
    with mock_aws():
        resources = provision(TOPOLOGY, lambda service: boto3.client(service, region_name=REGION))
        for name, value in resources.environment(TOPOLOGY).items():
            monkeypatch.setenv(name, value)
        clients.reset()
        settings.reset()
        yield Aws(resources)
        clients.reset()
        settings.reset()


@dataclass
class FakeLambdaContext:
    function_name: str = "persona-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:persona-test"
    aws_request_id: str = "req-test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def context():
    return FakeLambdaContext()
