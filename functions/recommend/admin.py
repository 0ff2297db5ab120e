"""Admin API of the recommend context: published models and their lineage. Light on purpose:
no numpy or onnxruntime in this function's bundle."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from functions.recommend.publishing import latest_version, published_models
from functions.recommend.settings import ModelsSettings
from shared import settings
from shared.api import build_resolver
from shared.aws.s3 import ObjectStore
from shared.observability import for_service

obs = for_service("recommend")
logger = obs.logger

admin_app = build_resolver(logger)


class PublishedModel(BaseModel):
    model_version: str
    serving: bool = Field(description="The version containers load now")
    trained_at: datetime
    algorithm: str
    items: int
    subjects: int = Field(description="People whose data the model holds now (erased ones are removed)")
    retrain_required: bool = Field(description="Someone it was trained on was erased: retrain and publish a new version")
    erasures: int
    metrics: dict[str, float]


@admin_app.get("/v1/models", summary="Published recommendation models, newest first, with lineage status", tags=["recommend"])
def list_models() -> list[PublishedModel]:
    bucket = ObjectStore(settings.load(ModelsSettings).models_bucket_name)
    serving = latest_version(bucket)
    return [
        PublishedModel(model_version=m.model_version, serving=m.model_version == serving, trained_at=m.trained_at,
                       algorithm=m.algorithm, items=len(m.items), subjects=len(m.lineage.subject_hashes),
                       retrain_required=m.lineage.retrain_required, erasures=len(m.lineage.erasures), metrics=m.metrics)
        for m in published_models(bucket)
    ]


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def admin_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return admin_app.resolve(event, context)
