"""The recommend context's light APIs (no numpy or onnxruntime in their bundle): published
models and their lineage (admin), and the product catalog storefronts browse (public)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, Field

from functions.recommend.catalog import CatalogReader, search
from functions.recommend.publishing import latest_version, published_models
from functions.recommend.schemas import CatalogItem
from functions.recommend.settings import ModelsSettings
from shared import settings
from shared.api import build_resolver
from shared.aws.s3 import ObjectStore
from shared.errors import NotFound
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


# ---------------------------------------------------------------- public: the catalog for storefronts
catalog_app = build_resolver(logger)


class CatalogPage(BaseModel):
    total: int = Field(description="Items matching, before paging")
    items: list[CatalogItem]
    categories: list[str] = Field(description="Every category of the catalog (for navigation)")


@settings.per_container
def _catalog() -> CatalogReader:
    config = settings.load(ModelsSettings)
    return CatalogReader(ObjectStore(config.models_bucket_name), config.model_check_interval_s)


@catalog_app.get("/v1/catalog", summary="Browse and search the product catalog", tags=["recommend"],
                 description="Every word of `q` must appear in the title, brand or category. Empty until a catalog is "
                 "published (`persona publish --catalog`).")
def get_catalog(
    q: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=128)] = None,
    brand: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CatalogPage:
    items = _catalog().items()
    found = search(items, q, category, brand)
    return CatalogPage(total=len(found), items=found[offset:offset + limit], categories=sorted({i.category for i in items}))


@catalog_app.get("/v1/catalog/<item_id>", summary="One product", tags=["recommend"])
def get_product(item_id: Annotated[str, Path(min_length=1, max_length=128)]) -> CatalogItem:
    for item in _catalog().items():
        if item.item_id == item_id:
            return item
    raise NotFound(f"No product {item_id!r} in the catalog.", code="unknown_item")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def catalog_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return catalog_app.resolve(event, context)
