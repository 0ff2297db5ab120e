"""Entry points of the profiles context. Thin: parse, call logic, map the result."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event, SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.profiles import collection, imports
from functions.profiles.schemas import (
    MAX_BATCH_BYTES,
    CollectResult,
    ImportList,
    ImportReport,
    InteractionRecorded,
    ProfileView,
    TrackingBatch,
    TrackingEvent,
)
from functions.profiles.settings import BusSettings, TableSettings
from functions.profiles.store import ProfileStore
from shared import settings
from shared.api import build_resolver, correlation_id
from shared.aws.dynamodb import DynamoTable
from shared.aws.events import EventPublisher
from shared.aws.s3 import ObjectStore
from shared.consumers import envelope_from_body
from shared.errors import NotFound, PayloadTooLarge
from shared.observability import for_service

# Models the OpenAPI document describes although no route signature names them.
OPENAPI_MODELS = [TrackingEvent]

obs = for_service("profiles")
logger, tracer, metrics = obs.logger, obs.tracer, obs.metrics


@cache
def _store() -> ProfileStore:
    return ProfileStore(DynamoTable(settings.load(TableSettings).profiles_table_name))


@cache
def _publisher() -> EventPublisher:
    return EventPublisher(settings.load(BusSettings).event_bus_name)


# ---------------------------------------------------------------- collection API
collect_app = build_resolver(logger)


@collect_app.post(
    "/v1/events",
    summary="Record a batch of storefront events",
    description="Validates each event on its own: valid ones are accepted and published as "
    "InteractionRecorded, invalid ones are listed in `rejected` with their index and reasons.",
    tags=["collection"],
    responses={202: {"description": "Accepted (possibly with per-item rejections)"}},
)
def collect_events(batch: Annotated[TrackingBatch, Body()]) -> Response[CollectResult]:
    if len((collect_app.current_event.body or "").encode()) > MAX_BATCH_BYTES:
        raise PayloadTooLarge(f"A batch may be at most {MAX_BATCH_BYTES // 1024} KB.")
    accepted, rejected = collection.validate_events(batch.events)
    envelopes = collection.interaction_events(accepted, correlation_id(collect_app))
    _publisher().publish(envelopes)
    metrics.add_metric(name="EventsAccepted", unit="Count", value=len(accepted))
    metrics.add_metric(name="EventsRejected", unit="Count", value=len(rejected))
    result = CollectResult(accepted=len(accepted), rejected=rejected)
    return Response(status_code=202, content_type="application/json", body=result)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def collect_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return collect_app.resolve(event, context)


# ---------------------------------------------------------------- admin API
admin_app = build_resolver(logger)


@admin_app.get("/v1/profiles/<profile_id>", summary="A visitor's profile", tags=["profiles"])
def get_profile(profile_id: Annotated[str, Path(min_length=1, max_length=128)]) -> ProfileView:
    counts = _store().interaction_counts(profile_id)
    if counts is None:
        raise NotFound(f"No profile {profile_id!r}.")
    return ProfileView(profile_id=profile_id, interactions=counts)


@admin_app.get("/v1/imports", summary="CRM imports, newest first", tags=["imports"])
def list_imports(limit: Annotated[int, Query(ge=1, le=500)] = 100) -> ImportList:
    return ImportList(imports=_store().imports(limit))


@admin_app.get("/v1/imports/<import_id>", summary="One CRM import", tags=["imports"])
def get_import(import_id: Annotated[str, Path(min_length=1, max_length=64)]) -> ImportReport:
    report = _store().get_import(import_id)
    if report is None:
        raise NotFound(f"No import {import_id!r}.")
    return report


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def admin_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return admin_app.resolve(event, context)


# ---------------------------------------------------------------- consumers
_interactions = BatchProcessor(event_type=EventType.SQS)


def _count_interaction(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    logger.set_correlation_id(envelope.metadata.correlation_id)
    interaction = InteractionRecorded.model_validate(envelope.data)
    if not _store().count_interaction(interaction, datetime.now(UTC)):
        logger.info("duplicate interaction ignored", extra={"interaction_id": interaction.interaction_id})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
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
        report = imports.received(bucket, key, head["ContentLength"], head["ETag"], datetime.now(UTC))
        created = _store().register_import(report)
        logger.info("crm drop registered" if created else "crm drop already registered", extra={"import_id": report.import_id, "key": key})


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def crm_drop_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_register_drop, processor=_drops, context=context)
