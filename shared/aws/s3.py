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
            if _missing(exc):
                return None
            raise

    def open(self, key: str) -> BinaryIO:
        """A streaming body: read it in chunks, never whole."""
        return client("s3").get_object(Bucket=self.bucket, Key=key)["Body"]

    def read(self, key: str) -> bytes | None:
        """A small object's bytes, or None when there is no such object."""
        try:
            return client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def download(self, key: str, path: str) -> None:
        client("s3").download_file(self.bucket, key, path)

    def delete(self, key: str) -> None:
        client("s3").delete_object(Bucket=self.bucket, Key=key)

    def purge_old_versions(self, key: str) -> int:
        """Delete every noncurrent version of `key` (a versioned bucket keeps them): after an
        erasure rewrote an object, its earlier content must go too."""
        paginator = client("s3").get_paginator("list_object_versions")
        old = [{"Key": v["Key"], "VersionId": v["VersionId"]}
               for page in paginator.paginate(Bucket=self.bucket, Prefix=key)
               for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
               if v["Key"] == key and not v["IsLatest"]]
        for start in range(0, len(old), 1000):
            client("s3").delete_objects(Bucket=self.bucket, Delete={"Objects": old[start:start + 1000], "Quiet": True})
        return len(old)

    def download_url(self, key: str, expires_s: int) -> str:
        """A presigned GET URL; whoever holds it can read the object until it expires."""
        return client("s3").generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s)

    def keys(self, prefix: str = "") -> list[str]:
        paginator = client("s3").get_paginator("list_objects_v2")
        return [obj["Key"] for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix) for obj in page.get("Contents", [])]


def _missing(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] in ("404", "NoSuchKey")
