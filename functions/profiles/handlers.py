"""API entry points of the profiles context. Thin: parse, call logic, map the result.

Queue consumers live in `consumers.py`, so that API functions do not import
what only consumers need (the X-Ray SDK, S3).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.profiles import service
from functions.profiles.crm_import.mapping import ColumnMapping
from functions.profiles.schemas import (
    MAX_BATCH_BYTES,
    CollectResult,
    ImportList,
    ImportReport,
    MappingList,
    ProfileView,
    QualityReport,
    RegisteredMapping,
    SegmentCounts,
    TrackingBatch,
    TrackingEvent,
    Unsubscribed,
)
from functions.profiles.store import profile_store
from shared.api import Who, build_resolver, correlation_id
from shared.errors import BadRequest, NotFound, PayloadTooLarge
from shared.observability import for_service

# Models the OpenAPI document describes although no route signature names them.
OPENAPI_MODELS = [TrackingEvent]

obs = for_service("profiles")
logger, metrics = obs.logger, obs.metrics


# ---------------------------------------------------------------- collection API
ONE_CLICK_UNSUBSCRIBE = "/v1/unsubscribe"
collect_app = build_resolver(logger, form_routes=frozenset({ONE_CLICK_UNSUBSCRIBE}))


_COLLECT_RESPONSES = {202: {"description": "Accepted (possibly with per-item rejections)"},
                      401: {"description": "A malformed X-Persona-Session"}}


@collect_app.post(
    "/v1/server/events",
    summary="Record a batch of events from the retailer's backend",
    description="As `POST /v1/events`, from the retailer's backend (IAM-signed in AWS, the local server key locally): "
    "events may name any customer_id, and purchases carry their value (what results and ROI count).",
    tags=["collection"],
    responses=_COLLECT_RESPONSES,
)
@collect_app.post(
    "/v1/events",
    summary="Record a batch of storefront events",
    description="Validates each event on its own: valid ones are accepted and published as InteractionRecorded, invalid "
    "ones are listed in `rejected` with their index and reasons. `anonymous_id` must be the storefront's random visitor "
    "id (at least 128 bits); an event naming a `customer_id` needs that customer's `X-Persona-Session`; `identify` links "
    "the caller's anonymous id to the session's customer. A purchase sent from the storefront is recorded as a view of "
    "the order page (listed in `changed`): revenue comes from the retailer's backend.",
    tags=["collection"],
    responses=_COLLECT_RESPONSES,
)
def collect_events(batch: Annotated[TrackingBatch, Body()], who: Who) -> Response[CollectResult]:
    if len((collect_app.current_event.body or "").encode()) > MAX_BATCH_BYTES:
        raise PayloadTooLarge(f"A batch may be at most {MAX_BATCH_BYTES // 1024} KB.")
    result, recorded = service.record_events(batch.events, who, correlation_id(collect_app))
    metrics.add_metric(name="EventsAccepted", unit="Count", value=recorded)
    metrics.add_metric(name="EventsRejected", unit="Count", value=len(result.rejected))
    metrics.add_metric(name="EventsWithoutConsent", unit="Count", value=result.withheld)  # the anonymous total, nothing stored
    return Response(status_code=202, content_type="application/json", body=result)


@collect_app.post(
    ONE_CLICK_UNSUBSCRIBE,
    summary="One-click unsubscribe from marketing e-mail (RFC 8058)",
    description="The URL of an e-mail's `List-Unsubscribe` header (with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`): "
    "`?customer_id=...&token=...`, the token signed by the retailer's mailer (shared/sessions.py, purpose `unsubscribe`). "
    "Mail clients post the form body `List-Unsubscribe=One-Click`. Withdraws the customer's e-mail marketing consent; "
    "403 for a token that is not this customer's, whether the customer exists or not.",
    tags=["collection"],
    responses={200: {"description": "Unsubscribed"}, 403: {"description": "Not this customer's unsubscribe token"}},
)
def one_click_unsubscribe(
    customer_id: Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@\-]+$")],
    token: Annotated[str, Query(min_length=1, max_length=128)],
    who: Who,
) -> Unsubscribed:
    if "List-Unsubscribe=One-Click" not in (collect_app.current_event.decoded_body or ""):
        raise BadRequest("Post the form body List-Unsubscribe=One-Click (RFC 8058).", code="not_one_click")
    return service.unsubscribe(customer_id, token, who, correlation_id(collect_app))


# No X-Ray SDK subsegments on the API paths: its import costs ~200 ms of cold start
# on the storefront's hot path; Lambda's active tracing still records each call.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def collect_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return collect_app.resolve(event, context)


# ---------------------------------------------------------------- admin API
admin_app = build_resolver(logger)


@admin_app.get(
    "/v1/profiles/<profile_id>",
    summary="A person's profile",
    description="By customer id or anonymous id: imported attributes with their lineage, order summary, "
    "campaign engagement and storefront interactions.",
    tags=["profiles"],
)
def get_profile(profile_id: Annotated[str, Path(min_length=1, max_length=128)]) -> ProfileView:
    view = profile_store().profile(profile_id)
    if view is None:
        raise NotFound(f"No profile {profile_id!r}.")
    return view


@admin_app.get("/v1/segments", summary="How many profiles are in each segment", tags=["profiles"])
def list_segments() -> SegmentCounts:
    counts = profile_store().segment_counts()
    if counts is None:
        raise NotFound("Segments have not been computed yet; they are after each import and every hour.")
    return counts


@admin_app.get(
    "/v1/quality",
    summary="Data quality per source and field, and of profiles",
    description="Per source (over all its imports): volumes, duplicate and quarantine rates, fill and validity "
    "per field, freshness. Per profile: score bands, missing key fields and possible duplicates as of the "
    "last full segment run.",
    tags=["profiles"],
)
def get_quality() -> QualityReport:
    return profile_store().quality_report(datetime.now(UTC))


@admin_app.put(
    "/v1/imports/mappings/<kind>/<source>",
    summary="Register how a source's exports are read",
    description="Used for exports dropped under `<kind>/<source>/`; a mapping file next to an export "
    "(`<export>.mapping.json`) still wins. Fields: columns (our field -> their column), delimiter, header, "
    "date_format, decimal_comma, currency, derive_order_id.",
    tags=["imports"],
)
def put_mapping(
    kind: Annotated[Literal["customers", "orders", "campaign"], Path()],
    source: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")],
    mapping: Annotated[ColumnMapping, Body()],
) -> RegisteredMapping:
    profile_store().save_mapping(kind, source, mapping)
    return RegisteredMapping(kind=kind, source=source, mapping=mapping)


@admin_app.get("/v1/imports/mappings", summary="Registered column mappings", tags=["imports"])
def list_mappings() -> MappingList:
    return MappingList(mappings=profile_store().mappings())


@admin_app.get("/v1/imports", summary="CRM imports, newest first", tags=["imports"])
def list_imports(limit: Annotated[int, Query(ge=1, le=500)] = 100) -> ImportList:
    return ImportList(imports=profile_store().imports(limit))


@admin_app.get("/v1/imports/<import_id>", summary="One CRM import", tags=["imports"])
def get_import(import_id: Annotated[str, Path(min_length=1, max_length=64)]) -> ImportReport:
    report = profile_store().get_import(import_id)
    if report is None:
        raise NotFound(f"No import {import_id!r}.")
    return report


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def admin_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return admin_app.resolve(event, context)
