"""API entry points of the experiments context. Thin: parse, call the service, map the result."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.experiments import service
from functions.experiments.schemas import (
    AssignmentRequest,
    AssignmentResponse,
    ExperimentIn,
    ExperimentList,
    ExperimentPatch,
    ExperimentView,
)
from functions.experiments.store import experiments_store
from functions.experiments.wiring import assigner, publisher
from shared.api import Who, build_resolver, correlation_id
from shared.observability import for_service

obs = for_service("experiments")
logger = obs.logger

ExperimentKey = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- storefront
api_app = build_resolver(logger)


@api_app.post(
    "/v1/assignments",
    summary="The variant of every running experiment the unit is in",
    description="Deterministic and sticky (GrowthBook-compatible hashing; the first exposure is recorded and wins "
    "afterwards). A unit in the global holdout, without analytics consent, or restricted is in no experiment "
    "(`excluded_reason`); targeting on segments needs personalization consent. The first exposure per unit and "
    "experiment publishes ExposureLogged. `user_id` counts only with that customer's `X-Persona-Session`: without it "
    "the caller is the visitor `anonymous_id` says (or an unknown visitor, in no experiment), whether the customer "
    "id exists or not; nothing is recorded for an id the caller did not prove.",
    tags=["experiments"],
)
def post_assignments(request: Annotated[AssignmentRequest, Body()], who: Who) -> AssignmentResponse:
    user_id, anonymous_id = who.served_as(request.user_id, request.anonymous_id)
    return assigner().assign(request.model_copy(update={"user_id": user_id, "anonymous_id": anonymous_id}), _now(),
                             correlation_id(api_app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api_app.resolve(event, context)


# ---------------------------------------------------------------- admin
admin_app = build_resolver(logger)


@admin_app.post("/v1/experiments", summary="Create an experiment (draft)", tags=["experiments"],
                responses={201: {"description": "Created"}, 409: {"description": "The key exists"}})
def create_experiment(spec: Annotated[ExperimentIn, Body()]) -> Response[ExperimentView]:
    created = service.create(experiments_store(), spec, _now())
    publisher().publish([service.changed_event(created, correlation_id(admin_app))])
    return Response(status_code=201, content_type="application/json", body=created)


@admin_app.get("/v1/experiments", summary="Every experiment, with status", tags=["experiments"])
def list_experiments() -> ExperimentList:
    return ExperimentList(experiments=sorted(experiments_store().all(), key=lambda e: e.created_at, reverse=True))


@admin_app.get("/v1/experiments/<key>", summary="One experiment", tags=["experiments"])
def get_experiment(key: ExperimentKey) -> ExperimentView:
    return service.get(experiments_store(), key)


@admin_app.patch(
    "/v1/experiments/<key>",
    summary="Start, stop or change an experiment",
    description="status: draft -> running -> stopped (starting allocates its slice of the layer). Variants of a running "
    "or stopped test never change (409). Coverage and targeting may change: units already assigned keep their variant.",
    tags=["experiments"],
)
def patch_experiment(key: ExperimentKey, patch: Annotated[ExperimentPatch, Body()]) -> ExperimentView:
    changed = service.change(experiments_store(), key, patch, _now())
    publisher().publish([service.changed_event(changed, correlation_id(admin_app))])
    return changed


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def admin_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return admin_app.resolve(event, context)
