"""API entry points of the recommend context. Thin: parse, call the service, map the result."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.recommend import ranking
from functions.recommend.schemas import Placement, Recommendations, TimeOfDay
from functions.recommend.service import RecommendationRequest, market_of
from functions.recommend.wiring import recommender, registry
from shared.api import Who, build_resolver
from shared.errors import BadRequest
from shared.observability import for_service

obs = for_service("recommend")
logger = obs.logger

SubjectQuery = Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@\-]+$")

if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"):
    # In Lambda, loading the model belongs to the container's init, not the first shopper's request.
    registry().current()

api_app = build_resolver(logger)


@api_app.get(
    "/v1/server/recommendations",
    summary="Recommendations for any customer, from the retailer's backend",
    description="As `GET /v1/recommendations`, from the retailer's backend (IAM-signed in AWS, the local server key locally): "
    "`user_id` needs no session (e-mails are built server-side).",
    tags=["recommend"],
)
@api_app.get(
    "/v1/recommendations",
    summary="Recommendations for a placement, each with a reason",
    description="Personalized when the person allows it (consent, no restriction or objection) and there is something "
    "to go on; otherwise a neutral answer (popular, trending or similar items) with `personalized: false` and the reason. "
    "`product` needs `item_id` (similar items; `same_brand=true` for more of its brand); `cart` cross-sells from "
    "co-purchases of the cart (and `item_id`, the item just added); `email` needs `user_id`. `user_id` counts only with "
    "that customer's `X-Persona-Session`: without it the caller is served as the visitor `anonymous_id` says they are "
    "(or, with neither, as an unknown visitor), whether the customer id exists or not.",
    tags=["recommend"],
)
def get_recommendations(
    who: Who,
    placement: Annotated[Placement, Query()],
    user_id: Annotated[str | None, SubjectQuery] = None,
    anonymous_id: Annotated[str | None, SubjectQuery] = None,
    item_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    n: Annotated[int, Query(ge=1, le=50)] = 10,
    same_brand: Annotated[bool, Query()] = False,
    device: Annotated[Literal["desktop", "mobile", "tablet", "app", "other"] | None, Query()] = None,
    locale: Annotated[str | None, Query(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")] = None,
    time_of_day: Annotated[TimeOfDay | None, Query()] = None,
) -> Recommendations:
    if not (user_id or anonymous_id):
        raise BadRequest("Send user_id (a customer) or anonymous_id (a visitor), or both.", code="missing_subject")
    if placement == "email" and not user_id:
        raise BadRequest("placement=email needs user_id: e-mails go to customers.", code="missing_user_id")
    user_id, anonymous_id = who.served_as(user_id, anonymous_id)
    query = ranking.Query(placement=placement, n=n, now=datetime.now(UTC), item_id=item_id, same_brand=same_brand,
                          market=market_of(locale))
    request = RecommendationRequest(query=query, user_id=user_id, anonymous_id=anonymous_id, device=device,
                                    time_of_day=time_of_day)
    answer = recommender().recommend(request)
    obs.metrics.add_metric(name="RecommendationsPersonalized" if answer.personalized else "RecommendationsFallback",
                           unit="Count", value=1)
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@obs.metrics.log_metrics
def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api_app.resolve(event, context)
