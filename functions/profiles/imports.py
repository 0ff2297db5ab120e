"""CRM drops: every object that lands in the drop bucket becomes an import.

This slice registers the drop (what, where, how big); parsing and validation
of the rows build on it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from functions.profiles.schemas import ImportReport


def import_id(bucket: str, key: str, etag: str) -> str:
    """Same object, same id: a redelivered notification never creates a second import."""
    identity = "\n".join((bucket, key, etag.strip('"')))
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def received(bucket: str, key: str, size: int, etag: str, at: datetime) -> ImportReport:
    return ImportReport(
        import_id=import_id(bucket, key, etag),
        status="received",
        bucket=bucket,
        key=key,
        size_bytes=size,
        etag=etag.strip('"'),
        received_at=at,
    )
