"""SQS adapter for operators: dead-letter depths and redrive (DLQ -> its source queue).

AWS has `StartMessageMoveTask` for redrive; moto does not implement it, so messages are
moved here by receive, send, delete. A message is deleted from the DLQ only after its
copy was sent, so a crash mid-redrive can duplicate a message (consumers are idempotent)
but never lose one.
"""

from __future__ import annotations

from typing import Any

from shared.aws.clients import client

SQS_MAX_BATCH = 10
# Long enough to send the copy and delete the original; if the mover dies, the message
# reappears in the DLQ after this.
MOVE_VISIBILITY_S = 30


def depth(queue_url: str, *, sqs: Any = None) -> int:
    """Messages waiting in the queue (visible ones: what a CloudWatch DLQ alarm watches)."""
    sqs = sqs or client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def move(from_url: str, to_url: str, *, limit: int | None = None, sqs: Any = None) -> int:
    """Move up to `limit` messages (default: as many as were waiting when it started) from
    one queue to another, bodies and message attributes unchanged; returns how many moved.

    Bounded by the starting depth so that messages that fail again and return to the DLQ
    during the redrive are not replayed in a loop.
    """
    sqs = sqs or client("sqs")
    budget = depth(from_url, sqs=sqs) if limit is None else limit
    moved = 0
    while moved < budget:
        messages = sqs.receive_message(
            QueueUrl=from_url, MaxNumberOfMessages=min(SQS_MAX_BATCH, budget - moved), WaitTimeSeconds=0,
            VisibilityTimeout=MOVE_VISIBILITY_S, MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        entries = [
            {"Id": str(i), "MessageBody": m["Body"], **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {})}
            for i, m in enumerate(messages)
        ]
        sent = sqs.send_message_batch(QueueUrl=to_url, Entries=entries)
        ok = {int(s["Id"]) for s in sent.get("Successful", [])}
        # Only what arrived in the source queue leaves the DLQ; the rest reappears there.
        done = [{"Id": str(i), "ReceiptHandle": messages[i]["ReceiptHandle"]} for i in sorted(ok)]
        if done:
            sqs.delete_message_batch(QueueUrl=from_url, Entries=done)
        moved += len(done)
        if len(done) < len(messages):
            failed = sent.get("Failed", [])
            raise RuntimeError(f"{len(failed)} message(s) could not be sent back ({failed[0].get('Code', '?')}); they stay in the DLQ")
    return moved
