"""Consumer queues (with DLQs), the event bus and its rules."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.topology import EventRule, Function, Queue


def consumer_queue(scope: Construct, spec: Queue, consumer: Function) -> tuple[sqs.Queue, sqs.Queue]:
    # SQS-managed encryption: EventBridge and S3 notifications can send to it
    # without a key policy for each service principal.
    dlq = sqs.Queue(
        scope,
        f"{spec.id}-dlq",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    queue = sqs.Queue(
        scope,
        f"{spec.id}-queue",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        # AWS guidance for event-source mappings: six times the function timeout.
        visibility_timeout=Duration.seconds(6 * consumer.timeout_s),
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count),
    )
    return queue, dlq


def rule(scope: Construct, spec: EventRule, bus: events.IEventBus, queue: sqs.IQueue, dlq: sqs.IQueue) -> events.Rule:
    return events.Rule(
        scope,
        f"{spec.id}-rule",
        event_bus=bus,
        event_pattern=events.EventPattern(source=list(spec.sources), detail_type=list(spec.detail_types)),
        # A delivery EventBridge cannot make (e.g. a deleted queue) lands in the consumer's DLQ.
        targets=[targets.SqsQueue(queue, dead_letter_queue=dlq, retry_attempts=8)],
    )
