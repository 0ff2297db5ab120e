from __future__ import annotations

import json
from dataclasses import dataclass, field

import boto3
import pytest
from moto import mock_aws

from infra.local import moto_patches
from infra.local.gateway import LOCAL_BACKEND_ARN, RouteTable, proxy_event
from infra.local.invoke import Invoker
from infra.local.provision import REGION, Provisioned, provision
from infra.topology import TOPOLOGY
from shared import settings
from shared.aws import clients


@dataclass
class Aws:
    resources: Provisioned
    invoker: Invoker = field(default_factory=Invoker)

    def api(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
        """Call the route's function as API Gateway would (the same proxy event as the local gateway). A server
        route (`/v1/server/...`) is called as the retailer's backend, as after API Gateway's IAM check."""
        route, params, _ = RouteTable(TOPOLOGY.routes).match(method, path.split("?")[0])
        assert route is not None, f"no route {method} {path}"
        raw = b"" if body is None else json.dumps(body).encode()
        event = proxy_event(method, path, {"content-type": "application/json", **(headers or {})}, raw, route, params, "127.0.0.1",
                            signer_arn=LOCAL_BACKEND_ARN if route.auth == "server" else None)
        response = self.invoker.invoke(TOPOLOGY.function(route.function), event)
        return response["statusCode"], json.loads(response["body"]) if response["body"] else None

    def signed_in(self, customer_id: str) -> dict[str, str]:
        """The header of the customer's storefront session, as the retailer's sign-in would sign it."""
        from datetime import UTC, datetime

        from shared import sessions

        key = self.client("secretsmanager").get_secret_value(SecretId=self.name("secret", "session_keys"))["SecretString"]
        return {sessions.SESSION_HEADER: sessions.issue(key, customer_id, datetime.now(UTC))}

    def unsubscribe_token(self, customer_id: str) -> str:
        """The one-click unsubscribe token of the link in the customer's e-mail, as the retailer's mailer would sign it."""
        from datetime import UTC, datetime

        from shared import sessions

        key = self.client("secretsmanager").get_secret_value(SecretId=self.name("secret", "session_keys"))["SecretString"]
        return sessions.issue_unsubscribe(key, customer_id, datetime.now(UTC))

    def pump(self, max_rounds: int = 20) -> int:
        """Deliver every queued message to its consumer (as event-source mappings do) until all queues are
        empty; a failed item fails the test. Returns how many messages were delivered."""
        from infra.local.dispatcher import sqs_event

        delivered = 0
        for _ in range(max_rounds):
            moved = 0
            for queue in TOPOLOGY.queues:
                messages = self.drain(queue.id)
                if messages:
                    result = self.invoker.invoke(TOPOLOGY.function(queue.consumer), sqs_event(messages, self.resources.queue_arns[queue.id]))
                    assert not (result or {}).get("batchItemFailures"), f"{queue.consumer} failed: {result}"
                    moved += len(messages)
            delivered += moved
            if not moved:
                return delivered
        raise AssertionError("queues did not settle")

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
    moto_patches.apply()  # the local runtime's moto, transactions included
    with mock_aws():
        resources = provision(TOPOLOGY, lambda service: boto3.client(service, region_name=REGION))
        for name, value in resources.environment(TOPOLOGY).items():
            monkeypatch.setenv(name, value)
        # Tests choose their ids freely: none should land in the 5 % global holdout by chance.
        # The holdout's own tests set a share.
        monkeypatch.setenv("GLOBAL_HOLDOUT_SHARE", "0")
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
