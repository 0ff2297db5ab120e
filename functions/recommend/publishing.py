"""Publishing models, the catalog and rules to the models bucket, and keeping model lineage
true after an erasure. Serving containers pick up what is published here (registry.py).

Models bucket layout:

    models/<version>/model.onnx, metadata.json[, copurchase.npz]
    models/LATEST                the version serving should use (written last)
    catalog/catalog.json         the product feed (Catalog)
    config/rules.json            business rules (RecommendRules); absent: defaults

No numpy or onnxruntime here: the privacy worker and the admin API use this module too.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from functions.recommend.artifacts import COPURCHASE_FILE, METADATA_FILE, MODEL_FILE, ModelMetadata
from functions.recommend.rules import RecommendRules
from functions.recommend.schemas import Catalog
from shared.aws.s3 import ObjectStore

LATEST_KEY = "models/LATEST"
CATALOG_KEY = "catalog/catalog.json"
RULES_KEY = "config/rules.json"


def version_prefix(version: str) -> str:
    return f"models/{version}/"


def publish_model(bucket: ObjectStore, folder: Path) -> str:
    """Upload a trained model under its version, then point serving at it (pointer last,
    so no container ever sees a half-uploaded version)."""
    metadata = ModelMetadata.model_validate_json((folder / METADATA_FILE).read_bytes())
    prefix = version_prefix(metadata.model_version)
    for name, content_type in ((MODEL_FILE, "application/octet-stream"), (COPURCHASE_FILE, "application/octet-stream"),
                               (METADATA_FILE, "application/json")):
        if (folder / name).exists():
            with (folder / name).open("rb") as body:
                bucket.put(prefix + name, body, content_type=content_type)
    bucket.put(LATEST_KEY, metadata.model_version.encode(), content_type="text/plain")
    return metadata.model_version


def publish_catalog(bucket: ObjectStore, catalog: Catalog) -> int:
    bucket.put(CATALOG_KEY, catalog.model_dump_json(exclude_defaults=True).encode(), content_type="application/json")
    return len(catalog.items)


def publish_rules(bucket: ObjectStore, rules: RecommendRules) -> None:
    bucket.put(RULES_KEY, rules.model_dump_json().encode(), content_type="application/json")


def published_models(bucket: ObjectStore) -> list[ModelMetadata]:
    """Every published version's metadata, newest first."""
    keys = [k for k in bucket.keys("models/") if k.endswith("/" + METADATA_FILE)]
    found = [ModelMetadata.model_validate_json(bucket.read(k) or b"{}") for k in keys]
    return sorted(found, key=lambda m: m.model_version, reverse=True)


def latest_version(bucket: ObjectStore) -> str | None:
    latest = bucket.read(LATEST_KEY)
    return latest.decode().strip() if latest else None


def forget_in_models(bucket: ObjectStore, subject_ids: set[str], request_id: str, at: datetime) -> list[str]:
    """Remove the subjects from the lineage of every model trained on them and mark those
    models for retraining. Returns the versions marked."""
    marked = []
    for metadata in published_models(bucket):
        if metadata.lineage.forget(subject_ids, request_id, at):
            key = version_prefix(metadata.model_version) + METADATA_FILE
            bucket.put(key, metadata.model_dump_json().encode(), content_type="application/json")
            bucket.purge_old_versions(key)  # the bucket is versioned: the old lineage must not linger
            marked.append(metadata.model_version)
    return marked


def models_containing(bucket: ObjectStore, subject_ids: set[str]) -> list[str]:
    return [m.model_version for m in published_models(bucket) if any(m.lineage.contains(s) for s in subject_ids)]
