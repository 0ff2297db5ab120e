"""`persona drop FILE`: put an export into the running runtime's CRM drop bucket."""

from __future__ import annotations

from pathlib import Path

import boto3

from infra.local.runtime import Endpoints

KINDS = ("customers", "orders", "campaign")


def drop_key(path: Path, kind: str) -> str:
    """Exports land under a prefix per kind: `orders/2026-11-24-orders.csv`."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    return f"{kind}/{path.name}"


def drop(path: Path, kind: str, endpoints: Endpoints) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is not a file")
    key = drop_key(path, kind)
    s3 = boto3.client(
        "s3",
        region_name=endpoints.region,
        endpoint_url=endpoints.aws_endpoint_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    s3.upload_file(str(path), endpoints.drop_bucket, key)
    return f"s3://{endpoints.drop_bucket}/{key}"
