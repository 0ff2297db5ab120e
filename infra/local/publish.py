"""`persona publish`: put a trained model (and optionally the catalog and rules) into a
models bucket, the running local instance's or, with `--bucket`, one in AWS."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from functions.recommend.artifacts import METADATA_FILE, MODEL_FILE, ModelMetadata
from functions.recommend.publishing import publish_catalog, publish_model, publish_rules
from functions.recommend.rules import RecommendRules
from functions.recommend.schemas import Catalog
from infra.local.runtime import Endpoints
from shared.aws import clients
from shared.aws.s3 import ObjectStore


class PublishError(ValueError):
    """Bad input, told before anything is uploaded."""


def _read(path: Path | None, model: type, what: str):
    if path is None:
        return None
    try:
        return model.model_validate_json(path.read_bytes())
    except FileNotFoundError as exc:
        raise PublishError(f"{what} {path} does not exist") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PublishError(f"{what} {path} is not valid: {where}: {first['msg']} ({exc.error_count()} problems)") from exc


def use_local_instance(endpoints: Endpoints) -> str:
    """Point the AWS adapters at the local instance's moto; returns its models bucket."""
    os.environ.update({"AWS_ENDPOINT_URL": endpoints.aws_endpoint_url, "AWS_DEFAULT_REGION": endpoints.region,
                       "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})
    clients.reset()
    return endpoints.buckets["models"]


def publish(bucket: str, model_dir: Path | None, catalog_file: Path | None, rules_file: Path | None) -> list[str]:
    """Validate everything first, then upload (the model pointer last). Returns what was done."""
    if model_dir is not None and not ((model_dir / MODEL_FILE).is_file() and (model_dir / METADATA_FILE).is_file()):
        raise PublishError(f"{model_dir} is not a model folder (it needs {MODEL_FILE} and {METADATA_FILE}; see `persona train`)")
    metadata = _read(model_dir / METADATA_FILE if model_dir else None, ModelMetadata, "model metadata")
    catalog = _read(catalog_file, Catalog, "catalog")
    rules = _read(rules_file, RecommendRules, "rules")
    if not (metadata or catalog or rules):
        raise PublishError("nothing to publish: give --model, --catalog and/or --rules")
    store, done = ObjectStore(bucket), []
    if catalog:
        done.append(f"catalog: {publish_catalog(store, catalog)} products")
    if rules:
        publish_rules(store, rules)
        done.append("rules")
    if metadata:
        done.append(f"model {publish_model(store, model_dir)} ({len(metadata.items)} items); serving picks it up within a minute")
        if catalog:
            missing = len(set(metadata.items) - {i.item_id for i in catalog.items})
            if missing:
                done.append(f"warning: {missing} of the model's items are not in the catalog and will not be recommended")
    return done
