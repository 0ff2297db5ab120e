"""S3 adapter: streaming reads, small writes."""

from __future__ import annotations

from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from shared.aws.clients import client


class ObjectStore:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def put(self, key: str, body: bytes | BinaryIO, *, content_type: str = "application/octet-stream") -> None:
        client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def head(self, key: str) -> dict[str, Any] | None:
        """The object's metadata, or None when there is no such object."""
        try:
            return client("s3").head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey"):
                return None
            raise

    def open(self, key: str) -> BinaryIO:
        """A streaming body: read it in chunks, never whole."""
        return client("s3").get_object(Bucket=self.bucket, Key=key)["Body"]

    def delete(self, key: str) -> None:
        client("s3").delete_object(Bucket=self.bucket, Key=key)

    def download_url(self, key: str, expires_s: int) -> str:
        """A presigned GET URL; whoever holds it can read the object until it expires."""
        return client("s3").generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s)

    def keys(self, prefix: str = "") -> list[str]:
        paginator = client("s3").get_paginator("list_objects_v2")
        return [obj["Key"] for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix) for obj in page.get("Contents", [])]
