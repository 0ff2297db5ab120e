"""Fault injection through the local runtime, in process.

One runtime serves each test module (each test uses its own visitor, unit and
experiment ids, so counts never mix). Faults are injected where AWS would produce them:
botocore `before-send` hooks answer a call with the error AWS would send (the SDK's own
retries then run as they would), PutEvents answers with failed entries, an S3 stream
breaks mid-read, a handler dies mid-batch. Each test removes its fault, and then every
count must match end to end: nothing lost, nothing counted twice.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from infra.local.runtime import LocalRuntime
from shared.aws import clients
from shared.aws.events import EventPublisher
from shared.envelope import new_event
from tests.conftest import visitor
from tests.e2e.conftest import eventually, http

ALL_CELL = "segment=*|device=*|market=*|source=*"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory) -> Iterator[LocalRuntime]:
    # Per module, not per package: this folder is no Python package, so a package-scoped fixture lived to
    # the end of the session, and another in-process runtime started later shared its moto state.
    local = LocalRuntime(api_port=0, aws_port=0, state_dir=tmp_path_factory.mktemp("state"), web_root=None,
                         alarm_interval_s=0.3)
    local.start()
    yield local
    local.stop()


@pytest.fixture
def no_dead_letters(runtime) -> Iterator[None]:
    """Every test of a fault ends with nothing stuck in any DLQ (nothing lost there either)."""
    yield
    stuck = {q: len(dead_letters(runtime, q)) for q in runtime.resources.dlq_urls}
    assert not any(stuck.values()), f"dead letters left behind: { {q: n for q, n in stuck.items() if n} }"


@pytest.fixture
def ids() -> Callable[[str], str]:
    """Ids unique to the test: the module shares one runtime."""
    run = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{run}"


@pytest.fixture
def anon(ids) -> Callable[[str], str]:
    """Visitor ids unique to the test. The public API takes only a visitor id that is a secret (shared/trust.py):
    `anon("shopper")` is `shopper-<run>-<32 hex digits>`."""
    return lambda name: visitor(ids(name))


@pytest.fixture
def fast_sdk_retries(monkeypatch):
    """The SDK's throttling backoff (up to 1+2+4+8 s per call) keeps its count, not its wait."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.01)


# ---------------------------------------------------------------- driving the runtime
def now() -> str:
    return datetime.now(UTC).isoformat()


def post_events(runtime: LocalRuntime, events: list[dict[str, Any]], *, signed_in: str | None = None) -> tuple[int, Any]:
    """As the storefront sends them: a visitor's, or with `signed_in` that customer's session (events naming a
    customer id need it; a purchase sent here is recorded as a page view without its value)."""
    headers = {"X-Persona-Session": runtime.storefront_session(signed_in)} if signed_in else {}
    return http("POST", runtime.endpoints.api_url + "/v1/events", {"events": events}, headers)


EVERYTHING = {"purposes": {"analytics": True, "personalization": True, "profiling": True}, "source": "banner", "policy_version": "v1"}


def consented(runtime: LocalRuntime, subject: str, *, signed_in: bool = False) -> str:
    """The subject said yes in the banner, and the profiles context knows it: the collection API stores a subject's
    browsing only with their consent (it checks its projection of ConsentChanged at the door). `signed_in`: a
    customer, who needs their session for it."""
    headers = {"X-Persona-Session": runtime.storefront_session(subject)} if signed_in else None
    status, answer = http("PUT", f"{runtime.endpoints.api_url}/v1/consents/{subject}", EVERYTHING, headers)
    assert status == 200, answer
    eventually(lambda: runtime.client("dynamodb").get_item(TableName=runtime.endpoints.tables["profiles"], ConsistentRead=True,
                                                           Key={"pk": {"S": f"CONSENT#{subject}"}, "sk": {"S": "STATE"}}).get("Item"), 30)
    return subject


def post_server_events(runtime: LocalRuntime, events: list[dict[str, Any]]) -> tuple[int, Any]:
    """As the retailer's backend sends them (an order system's purchases, with their value): the server route,
    with the local server key (IAM in AWS)."""
    return http("POST", runtime.endpoints.api_url + "/v1/server/events", {"events": events},
                {"x-persona-server-key": runtime.server_key})


def profile_counts(runtime: LocalRuntime, profile_id: str) -> dict[str, Any]:
    status, body = http("GET", f"{runtime.endpoints.api_url}/v1/profiles/{profile_id}",
                        headers={"x-api-key": runtime.endpoints.admin_api_key})
    return body["interactions"] if status == 200 and body.get("interactions") else {"total": 0, "by_type": {}}


def publish(runtime: LocalRuntime, context: str, name: str, *data: dict[str, Any]) -> None:
    """Put events on the bus as `context` would (its rules route them to the consumer queues)."""
    EventPublisher(runtime.topology.bus, events_client=runtime.client("events")).publish(
        [new_event(name, d, context=context, correlation_id=uuid.uuid4().hex) for d in data])


def bus_message(context: str, name: str, data: dict[str, Any], *, event_id: str | None = None) -> str:
    """An SQS body as a rule's target receives it: the whole EventBridge event, the envelope in `detail`."""
    envelope = new_event(name, data, context=context, correlation_id=uuid.uuid4().hex, event_id=event_id)
    return json.dumps({"version": "0", "id": uuid.uuid4().hex, "detail-type": name, "source": f"persona.{context}",
                       "account": "123456789012", "time": now(), "region": "eu-west-1", "resources": [],
                       "detail": json.loads(envelope.model_dump_json())})


def deliver(runtime: LocalRuntime, queue_id: str, bodies: list[str], *, delay_s: int = 0) -> None:
    """Straight into a consumer queue: SQS's own duplicates and reorderings, made on purpose."""
    sqs = runtime.client("sqs")
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=runtime.resources.queue_urls[queue_id], Entries=[
            {"Id": str(i), "MessageBody": body, "DelaySeconds": delay_s} for i, body in enumerate(bodies[start:start + 10])])


def exposure(experiment: str, unit: str, variant: str = "control", at: str | None = None) -> dict[str, Any]:
    return {"experiment": experiment, "variant": variant, "variant_index": 0 if variant == "control" else 1,
            "unit_id": unit, "anonymous_id": unit, "exposed_at": at or now(), "segments": [], "context": {}}


def purchase(visitor: str, event_id: str, value: str, at: str | None = None) -> dict[str, Any]:
    return {"type": "purchase", "event_id": event_id, "anonymous_id": visitor, "timestamp": at or now(),
            "item_id": "sku-1", "value": value, "currency": "EUR"}


def cell(runtime: LocalRuntime, experiment: str, variant: str = "control") -> dict[str, Decimal]:
    """The whole-experiment counters of one variant, straight from the results table."""
    item = runtime.client("dynamodb").get_item(
        TableName=runtime.endpoints.tables["results"],
        Key={"pk": {"S": f"CELLS#{experiment}"}, "sk": {"S": f"{ALL_CELL}#{variant}"}}, ConsistentRead=True,
    ).get("Item", {})
    return {name: Decimal(value["N"]) for name, value in item.items() if "N" in value}


def drained(runtime: LocalRuntime, *queue_ids: str) -> bool:
    """Nothing waiting, delayed or in flight in these queues."""
    sqs = runtime.client("sqs")
    for queue_id in queue_ids:
        attributes = sqs.get_queue_attributes(
            QueueUrl=runtime.resources.queue_urls[queue_id],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        if any(int(count) for count in attributes.values()):
            return False
    return True


def dead_letters(runtime: LocalRuntime, queue_id: str) -> list[dict[str, Any]]:
    """The DLQ's messages, peeked at (visibility 0: they stay for the redrive)."""
    return runtime.client("sqs").receive_message(
        QueueUrl=runtime.resources.dlq_urls[queue_id], MaxNumberOfMessages=10, VisibilityTimeout=0,
        AttributeNames=["All"],
    ).get("Messages", [])


def purge_dead_letters(runtime: LocalRuntime, queue_id: str) -> None:
    runtime.client("sqs").purge_queue(QueueUrl=runtime.resources.dlq_urls[queue_id])


# ---------------------------------------------------------------- faults
class _Raw:
    """What AWSResponse reads a body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def aws_error(code: str, message: str, *, status: int = 400, service: str = "dynamodb", **extra: Any) -> AWSResponse:
    """An AWS JSON-protocol error response, as the service would send it."""
    target = {"dynamodb": "com.amazonaws.dynamodb.v20120810"}.get(service, "")
    body = json.dumps({"__type": f"{target}#{code}" if target else code, "message": message, **extra}).encode()
    headers = {"x-amzn-RequestId": uuid.uuid4().hex, "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse("https://fault.invalid/", status, headers, _Raw(body))


@contextmanager
def after_commit(table: str, fault: Callable[[], None]) -> Iterator[None]:
    """Call `fault()` after each TransactWriteItems on `table` has been applied, before the
    handler sees the answer (a crash or a lost response right after a commit)."""
    events = clients.client("dynamodb").meta.events

    def mark(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["fault_table"] = f'"{table}"' in str(params.get("body", ""))

    def after(context: dict[str, Any], **_: Any) -> None:
        if context.get("fault_table"):
            fault()

    events.register("before-call.dynamodb.TransactWriteItems", mark, unique_id="fault-mark")
    events.register("after-call.dynamodb.TransactWriteItems", after, unique_id="fault-after")
    try:
        yield
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="fault-mark")
        events.unregister("after-call.dynamodb.TransactWriteItems", unique_id="fault-after")


@contextmanager
def on_send(service: str, operation: str, answer: Callable[[dict[str, Any]], AWSResponse | None]) -> Iterator[None]:
    """Let `answer(request_body)` answer the handlers' calls of `operation` instead of AWS
    (None: the call goes through). Hooked on `before-send`, so the SDK's retry rules apply."""

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        body = json.loads(request.body or b"{}") if request.body else {}
        return answer(body)

    hooked = [clients.client(service)] + ([clients.resource(service).meta.client] if service == "dynamodb" else [])
    event = f"before-send.{service}.{operation}"
    for client in hooked:
        client.meta.events.register(event, hook, unique_id=f"fault-{id(hook)}")
    try:
        yield
    finally:
        for client in hooked:
            client.meta.events.unregister(event, unique_id=f"fault-{id(hook)}")


class Countdown:
    """True for the first `n` calls (thread-safe): a fault that lasts a while, then heals."""

    def __init__(self, n: int) -> None:
        self.left = n
        self.fired = 0
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        with self._lock:
            if self.left <= 0:
                return False
            self.left -= 1
            self.fired += 1
            return True


class Script:
    """Answers calls with `answers` in order (each a callable making the response), then lets them through."""

    def __init__(self, answers: list[Callable[[], AWSResponse]]) -> None:
        self._answers = list(answers)
        self._lock = threading.Lock()

    @property
    def done(self) -> bool:
        return not self._answers

    def __call__(self) -> AWSResponse | None:
        with self._lock:
            return self._answers.pop(0)() if self._answers else None


def touches(body: dict[str, Any], table: str) -> bool:
    text = json.dumps(body)
    return f'"TableName": "{table}"' in text or f'"{table}":' in text


__all__ = ["Countdown", "Script", "after_commit", "bus_message", "consented", "deliver", "aws_error", "cell", "dead_letters", "drained", "eventually",
           "exposure", "http", "now", "on_send",
           "post_events", "post_server_events", "profile_counts", "publish", "purchase", "purge_dead_letters", "touches"]
