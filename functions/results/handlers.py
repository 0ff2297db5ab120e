"""API entry points of the results context (admin). Thin: parse, call the service, map the result."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.results import service
from functions.results.schemas import (
    Backlog,
    BacklogItem,
    BacklogItemIn,
    Conclusion,
    Correction,
    Engine,
    ExperimentResults,
    MetricName,
    Plan,
    PlanQuery,
    ProgramKpis,
    StoredConclusion,
)
from functions.results.settings import ProgramSettings
from functions.results.store import results_store
from shared import settings
from shared.api import build_resolver
from shared.errors import NotFound
from shared.observability import for_service

obs = for_service("results")
logger = obs.logger

ExperimentKey = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]

app = build_resolver(logger)


def _now() -> datetime:
    return datetime.now(UTC)


@app.get(
    "/v1/experiments/<key>/results",
    summary="An experiment's results: lift and intervals per variant, SRM check, breakdowns, verdict, history",
    description="`metric` defaults to the experiment's primary metric; `breakdown` crosses dimensions "
    "(segment, device, market, traffic_source), each cell needing `min_units` per variant; p-values are corrected "
    "across variants and cells (`correction`). The SRM warning, when present, comes first. `cuped=true` adjusts revenue "
    "per visitor by each unit's spend before its exposure and reports the variance reduction.",
    tags=["results"],
)
def get_results(
    key: ExperimentKey,
    metric: Annotated[MetricName | None, Query()] = None,
    engine: Annotated[Engine, Query()] = "frequentist",
    alpha: Annotated[float, Query(gt=0, lt=0.5)] = 0.05,
    breakdown: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_,]+$")] = None,
    correction: Annotated[Correction, Query()] = "holm",
    min_units: Annotated[int, Query(ge=2, le=100_000)] = 100,
    cuped: Annotated[bool, Query()] = False,
) -> ExperimentResults:
    return service.experiment_results(results_store(), key, metric=metric, engine=engine, alpha=alpha, breakdown=breakdown,
                                      correction=correction, min_units=min_units, now=_now(), cuped=cuped)


@app.put("/v1/experiments/<key>/conclusion", summary="Attach the analyst's conclusion to an experiment", tags=["results"])
def put_conclusion(key: ExperimentKey, conclusion: Annotated[Conclusion, Body()]) -> StoredConclusion:
    store = results_store()
    if store.definition(key) is None:
        raise NotFound(f"No experiment {key!r}.", code="experiment_not_found")
    stored = StoredConclusion(**conclusion.model_dump(), at=_now())
    store.set_conclusion(key, stored.model_dump(mode="json"))
    return stored


@app.get(
    "/v1/program",
    summary="Program KPIs against the global holdout, as a before/after table",
    description="Conversion rate, average order value, revenue per visitor and retention of every visitor in the program "
    "versus the global holdout; incremental revenue and, with `cost`, the ROI.",
    tags=["results"],
)
def get_program(cost: Annotated[float | None, Query(ge=0)] = None) -> ProgramKpis:
    return service.program_kpis(results_store(), settings.load(ProgramSettings).global_holdout_share, cost)


@app.post("/v1/planner", summary="Power / MDE planner: days for an MDE, or the MDE reachable in some days", tags=["results"],
          description="Two-sided z-test at the given power, traffic split equally over the variants.")
def post_planner(query: Annotated[PlanQuery, Body()]) -> Plan:
    return service.plan(query)


@app.post("/v1/backlog", summary="Add a use case to the testing backlog", tags=["results"],
          responses={201: {"description": "Added, with its feasibility"}})
def add_backlog_item(item: Annotated[BacklogItemIn, Body()]) -> Response[BacklogItem]:
    store = results_store()
    raw = {**item.model_dump(mode="json"), "item_id": uuid.uuid4().hex, "created_at": _now().isoformat()}
    ranked = service.backlog(store, [raw], _now()).items[0]  # ranked before it is stored: a bad item never lands
    store.add_backlog_item(raw)
    return Response(status_code=201, content_type="application/json", body=ranked)


@app.get("/v1/backlog", summary="The testing backlog, ranked: feasible use cases first, then by gain per day of effort",
         tags=["results"])
def get_backlog() -> Backlog:
    store = results_store()
    return service.backlog(store, store.backlog_items(), _now())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
