"""Drains consumer queues into their handlers, like Lambda event-source mappings.

For each topology queue a thread long-polls SQS, hands batches (up to the
queue's batch size, gathered within its batching window) to the consumer, and
honours `ReportBatchItemFailures`: successful messages are deleted, failed ones
return to the queue and, after `max_receive_count` receives, SQS's redrive
policy moves them to the DLQ. One local shortcut: a failed message becomes
visible again after `retry_delay_s` instead of the queue's visibility timeout,
so retries take seconds rather than minutes. Another: a batch waits (up to
`yield_s`) while API requests are in flight, so the storefront stays quick while
the queues drain an import (in AWS they would run on separate machines).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from infra.local.invoke import Invoker
from infra.local.workers import Workers
from infra.local.provision import REGION, Provisioned
from infra.topology import Queue, Topology

log = logging.getLogger("persona.local.dispatcher")
SQS_MAX_RECEIVE = 10


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in (m.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


class Dispatcher:
    def __init__(
        self,
        topology: Topology,
        resources: Provisioned,
        invoker: Invoker,
        sqs: Any,
        *,
        poll_wait_s: int = 1,
        retry_delay_s: int = 1,
        yield_s: float = 1.0,
    ) -> None:
        self.topology = topology
        self.resources = resources
        self.invoker = invoker
        self.sqs = sqs
        self.poll_wait_s = poll_wait_s
        self.retry_delay_s = retry_delay_s
        self.yield_s = yield_s
        self.stats: Counter[str] = Counter()
        # A handler still running at stop is abandoned (daemon thread), as Lambda would on shutdown.
        self._workers = Workers("dispatch", topology.queues, self._run, join_timeout_s=poll_wait_s + 1)
        self._stop = self._workers.stopping

    def start(self) -> None:
        self._workers.start()

    def stop(self) -> None:
        self._workers.stop()

    def _receive_batch(self, queue: Queue, url: str) -> list[dict[str, Any]]:
        """Long-poll for a first message, then gather more until the batch is full,
        the queue is momentarily empty, or the batching window has passed."""
        batch: list[dict[str, Any]] = []
        deadline = float("inf")
        while len(batch) < queue.batch_size and time.monotonic() < deadline and not self._stop.is_set():
            messages = self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(SQS_MAX_RECEIVE, queue.batch_size - len(batch)),
                WaitTimeSeconds=0 if batch else self.poll_wait_s,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                break
            if not batch:
                deadline = time.monotonic() + queue.max_batching_window_s
            batch.extend(messages)
        return batch

    def _run(self, queue: Queue) -> None:
        url = self.resources.queue_urls[queue.id]
        arn = self.resources.queue_arns[queue.id]
        function = self.topology.function(queue.consumer)
        while not self._stop.is_set():
            try:
                batch = self._receive_batch(queue, url)
                if batch:
                    self.invoker.requests_quiet(self.yield_s)
                    self._deliver(queue, function, batch, url, arn)
            except Exception:  # the dispatcher must survive anything a handler or moto does
                if self._stop.is_set():
                    return
                log.exception("dispatching %s failed", queue.id)
                time.sleep(self.poll_wait_s)

    def _deliver(self, queue: Queue, function: Any, batch: list[dict[str, Any]], url: str, arn: str) -> None:
        failed_ids: set[str]
        try:
            response = self.invoker.invoke(function, sqs_event(batch, arn)) or {}
            failed_ids = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:  # a handler that raises fails the whole batch, as in Lambda
            log.exception("%s raised; the whole batch of %d returns to %s", function.id, len(batch), queue.id)
            failed_ids = {m["MessageId"] for m in batch}
        done = [m for m in batch if m["MessageId"] not in failed_ids]
        failed = [m for m in batch if m["MessageId"] in failed_ids]
        for start in range(0, len(done), SQS_MAX_RECEIVE):
            chunk = done[start : start + SQS_MAX_RECEIVE]
            self.sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            )
        for message in failed:
            self.sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=self.retry_delay_s
            )
        self.stats[f"{queue.id}.processed"] += len(done)
        self.stats[f"{queue.id}.failed"] += len(failed)
        if failed:
            log.warning("%s: %d of %d messages failed and will be retried", queue.id, len(failed), len(batch))
