"""Queue consumers of the profiles context (SQS batches with partial failures)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event, SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.profiles import imports
from functions.profiles.schemas import InteractionRecorded
from functions.profiles.store import profile_store
from shared.aws.s3 import ObjectStore
from shared.consumers import envelope_from_body
from shared.observability import for_service

obs = for_service("profiles")
logger = obs.logger


_interactions = BatchProcessor(event_type=EventType.SQS)


def _count_interaction(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    logger.set_correlation_id(envelope.metadata.correlation_id)
    interaction = InteractionRecorded.model_validate(envelope.data)
    if not profile_store().count_interaction(interaction, datetime.now(UTC)):
        logger.info("duplicate interaction ignored", extra={"interaction_id": interaction.interaction_id})


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def interactions_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=_count_interaction, processor=_interactions, context=context
    )


_drops = BatchProcessor(event_type=EventType.SQS)


def _register_drop(record: SQSRecord) -> None:
    notification = record.json_body
    if notification.get("Event") == "s3:TestEvent":  # sent once when the notification is configured
        return
    for s3_record in S3Event(notification).records:
        # Keys arrive URL-encoded in S3 notifications (crm%2Forders.csv).
        bucket, key = s3_record.s3.bucket.name, unquote_plus(s3_record.s3.get_object.key)
        head = ObjectStore(bucket).head(key)  # the notification's size/etag may be stale
        if head is None:  # deleted (or overwritten and deleted) before we got to it: nothing to import
            logger.warning("dropped object vanished before import", extra={"bucket": bucket, "key": key})
            continue
        report = imports.received(bucket, key, head["ContentLength"], head["ETag"], datetime.now(UTC))
        created = profile_store().register_import(report)
        logger.info("crm drop registered" if created else "crm drop already registered", extra={"import_id": report.import_id, "key": key})


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def crm_drop_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_register_drop, processor=_drops, context=context)
