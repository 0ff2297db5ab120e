"""API entry points of the privacy context. Thin: parse, call the service, map the result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.privacy.schemas import (
    AdminRequestView,
    AuditTrail,
    ConsentUpdate,
    ConsentView,
    Extension,
    OutboxMessage,
    OwnRequests,
    PrivacyRequestIn,
    RequestCreated,
    RequestQueue,
    RequestStatusView,
    StaffVerification,
    StaffVerified,
    SubjectId,
    Verification,
)
from functions.privacy.settings import OrchestrationSettings, SiteSettings
from functions.privacy.wiring import exports, privacy
from shared import settings
from shared.api import Who, build_resolver, correlation_id
from shared.errors import NotFound
from shared.observability import for_service

obs = for_service("privacy")
logger = obs.logger

RequestId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-f0-9]+$")]


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- public API (storefront, privacy centre)
api_app = build_resolver(logger)


# A customer's consents need their storefront session (shared/sessions.py); a visitor's id is the secret of their cookie.
CUSTOMER_SESSION = {401: {"description": "Not a visitor's secret id, without that customer's X-Persona-Session (known or not: "
                          "the answer does not tell whether a customer id exists)"}}


@api_app.get("/v1/consents/<subject_id>", summary="A person's consent per purpose, with history", tags=["privacy"],
             responses=CUSTOMER_SESSION)
def get_consents(subject_id: Annotated[SubjectId, Path()], who: Who) -> ConsentView:
    service = privacy(correlation_id(api_app))
    service.check_caller(subject_id, who)
    return service.consent_view(subject_id)


@api_app.put(
    "/v1/consents/<subject_id>",
    summary="Give or withdraw consent",
    description="Per purpose (true grants, false withdraws) and/or an IAB TCF v2 string, with the source and policy "
    "version. Every choice is appended to the history; ConsentChanged is published when what the data may be used for changes. "
    "A customer's consents need their storefront session (`X-Persona-Session`); a visitor's id must be the storefront's "
    "random visitor id.",
    tags=["privacy"],
    responses=CUSTOMER_SESSION,
)
def put_consents(subject_id: Annotated[SubjectId, Path()], update: Annotated[ConsentUpdate, Body()], who: Who) -> ConsentView:
    service, now = privacy(correlation_id(api_app)), _now()
    service.check_caller(subject_id, who)
    return service.update_consent(subject_id, update, now)


@api_app.get(
    "/v1/privacy-requests/by-subject/<subject_id>",
    summary="A person's own privacy requests, newest first",
    description="For the privacy centre's history: type, status, received, deadline, completed. The same proof as a "
    "person's consents: a visitor's secret id, or a customer's `X-Persona-Session`.",
    tags=["privacy"],
    responses=CUSTOMER_SESSION,
)
def own_requests(subject_id: Annotated[SubjectId, Path()], who: Who) -> OwnRequests:
    service = privacy(correlation_id(api_app))
    service.check_caller(subject_id, who)
    return OwnRequests(subject_id=subject_id, requests=service.own_requests(subject_id))


@api_app.post(
    "/v1/privacy-requests",
    summary="Exercise a GDPR right",
    description="access, portability, rectification (with corrections), erasure, restriction or objection (direct_marketing "
    "or profiling). Nothing happens until the request is verified with the token sent to `contact`. For a customer the "
    "link goes only to the e-mail on file: another address gets no link (the answer is the same, so it does not tell "
    "which address is on file) and the privacy team verifies the person by other means.",
    tags=["privacy"],
    responses={202: {"description": "Received; pending verification"}},
)
def submit_request(body: Annotated[PrivacyRequestIn, Body()]) -> Response[RequestCreated]:
    request = privacy(correlation_id(api_app)).submit(body, _now(), site=settings.load(SiteSettings).persona_site_url)
    created = RequestCreated(
        request_id=request.request_id, status=request.status, received_at=request.received_at, due_at=request.due_at,
        message="If this address is yours on file (or you shop without an account), we sent it a link: follow it within 24 hours "
        "to confirm the request. No message? Our privacy team will contact you to verify who you are.",
    )
    return Response(status_code=202, content_type="application/json", body=created)


@api_app.get(
    "/v1/privacy-requests/<request_id>",
    summary="Status of a privacy request",
    description="With the verification `token`, a completed access or portability request also gives a short-lived download link.",
    tags=["privacy"],
)
def request_status(
    request_id: RequestId, token: Annotated[str | None, Query(max_length=512)] = None
) -> RequestStatusView:
    return privacy(correlation_id(api_app)).status(request_id, token, _now(), exports() if token else None)


@api_app.post("/v1/privacy-requests/<request_id>/verification", summary="Confirm a privacy request with its token", tags=["privacy"])
def verify_request(request_id: RequestId, body: Annotated[Verification, Body()]) -> RequestStatusView:
    contexts = settings.load(OrchestrationSettings).contexts
    return privacy(correlation_id(api_app)).verify(request_id, body.token, contexts, _now(), exports())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api_app.resolve(event, context)


# ---------------------------------------------------------------- admin API (DPO, support)
admin_app = build_resolver(logger)


@admin_app.get(
    "/v1/privacy-requests",
    summary="The privacy request queue, soonest deadline first",
    description="Filter by `status` and by `overdue`; each request carries its flag (on_track, at_risk, overdue).",
    tags=["privacy"],
)
def request_queue(
    status: Annotated[str | None, Query(pattern=r"^(pending_verification|in_progress|completed|lifted)$")] = None,
    overdue: Annotated[bool | None, Query()] = None,
) -> RequestQueue:
    found = privacy(correlation_id(admin_app)).queue(_now(), status, overdue)
    return RequestQueue(requests=[AdminRequestView(**r.model_dump()) for r in found])


@admin_app.post(
    "/v1/privacy-requests/<request_id>/extension",
    summary="Extend a request's deadline (Art. 12(3))",
    description="By one or two months in all, with a reason that is recorded in the audit log.",
    tags=["privacy"],
)
def extend_request(request_id: RequestId, extension: Annotated[Extension, Body()]) -> AdminRequestView:
    return AdminRequestView(**privacy(correlation_id(admin_app)).extend(request_id, extension, _now()).model_dump())


@admin_app.post(
    "/v1/privacy-requests/<request_id>/staff-verification",
    summary="Verify a person by other means and let their request go ahead",
    description="For a request held without a link (the address given is not the one on file, or no address is on file): "
    "after checking the person's identity another way, record how in `note` (audit log). The answer carries the "
    "privacy-centre link to hand over to the person; 409 when the request is not waiting for verification.",
    tags=["privacy"],
)
def staff_verification(request_id: RequestId, body: Annotated[StaffVerification, Body()]) -> StaffVerified:
    contexts = settings.load(OrchestrationSettings).contexts
    request, link = privacy(correlation_id(admin_app)).verify_by_staff(
        request_id, body, contexts, _now(), exports(), site=settings.load(SiteSettings).persona_site_url)
    return StaffVerified(request=AdminRequestView(**request.model_dump()), status_link=link)


@admin_app.post("/v1/privacy-requests/<request_id>/lift", summary="Lift a restriction (Art. 18(3))", tags=["privacy"])
def lift_restriction(request_id: RequestId) -> AdminRequestView:
    return AdminRequestView(**privacy(correlation_id(admin_app)).lift_restriction(request_id, _now()).model_dump())


@admin_app.get("/v1/privacy-requests/<request_id>/audit", summary="A request's audit trail", tags=["privacy"])
def audit_trail(request_id: RequestId) -> AuditTrail:
    service = privacy(correlation_id(admin_app))
    entries = service.store.audit_trail(request_id)
    if not entries:
        raise NotFound(f"No privacy request {request_id!r}.")
    return AuditTrail(request_id=request_id, entries=entries)


@admin_app.get(
    "/v1/privacy-outbox",
    summary="Messages sent to data subjects (verification links)",
    description="In AWS a mail service delivers them; locally this is the mailbox (`persona outbox`).",
    tags=["privacy"],
)
def outbox() -> list[OutboxMessage]:
    return privacy(correlation_id(admin_app)).store.outbox()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def admin_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return admin_app.resolve(event, context)
