"""`persona drop FILE`: put an export into the running runtime's CRM drop bucket."""

from __future__ import annotations

from pathlib import Path

import boto3

from functions.profiles.crm_import.mapping import KINDS, MAPPING_SUFFIX, ColumnMapping
from infra.local.runtime import Endpoints


def drop_key(path: Path, kind: str) -> str:
    """Exports land under a prefix per kind: `orders/2026-11-24-orders.csv`."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    return f"{kind}/{path.name}"


def drop(path: Path, kind: str, endpoints: Endpoints, *, mapping: Path | None = None) -> str:
    """Upload the export (and first its mapping file, which the import reads when the export arrives)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file")
    if mapping is not None and not mapping.is_file():
        raise FileNotFoundError(f"{mapping} is not a file")
    key = drop_key(path, kind)
    s3 = boto3.client(
        "s3",
        region_name=endpoints.region,
        endpoint_url=endpoints.aws_endpoint_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    if mapping is not None:
        ColumnMapping.model_validate_json(mapping.read_text())  # a broken mapping is reported here, not after the upload
        s3.upload_file(str(mapping), endpoints.drop_bucket, key + MAPPING_SUFFIX)
    s3.upload_file(str(path), endpoints.drop_bucket, key)
    return f"s3://{endpoints.drop_bucket}/{key}"
