"""The recommend services on this function's resources (built once per container)."""

from __future__ import annotations

from functions.recommend.registry import ModelRegistry
from functions.recommend.service import Recommender
from functions.recommend.settings import ConsentPolicySettings, ModelsSettings
from functions.recommend.store import recommend_store
from shared import settings
from shared.aws.s3 import ObjectStore


@settings.per_container
def models_bucket() -> ObjectStore:
    return ObjectStore(settings.load(ModelsSettings).models_bucket_name)


@settings.per_container
def registry() -> ModelRegistry:
    return ModelRegistry(models_bucket(), settings.load(ModelsSettings).model_check_interval_s)


@settings.per_container
def recommender() -> Recommender:
    policy = settings.load(ConsentPolicySettings)
    return Recommender(recommend_store(), registry(), policy.consent_default_policy, policy.global_holdout_share)
