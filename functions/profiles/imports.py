"""CRM drops: every object that lands in the drop bucket becomes an import with a report."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import NamedTuple

from functions.profiles.crm_import.mapping import KINDS, MAPPING_SUFFIX, Kind
from functions.profiles.crm_import.pipeline import Tally
from functions.profiles.schemas import FieldReport, ImportReport

FINISHED = frozenset({"completed", "failed"})


class Progress(NamedTuple):
    """How far an import got: chunks merged and their counts (an interrupted import resumes after them)."""

    chunks: int = 0
    profiles_written: int = 0
    already_stored: int = 0
DEFAULT_SOURCE = "default"


def import_id(bucket: str, key: str, etag: str) -> str:
    """Same object, same id: a redelivered notification or an unchanged re-drop is one import."""
    identity = "\n".join((bucket, key, etag.strip('"')))
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def kind_of(key: str) -> Kind | None:
    """Exports are dropped under a prefix per kind: `orders/2026-11.csv`."""
    prefix = key.split("/", 1)[0]
    return prefix if prefix in KINDS else None  # type: ignore[return-value]


def source_of(key: str) -> str:
    """`orders/shopify/2026-11.csv` comes from source `shopify`; files right under the kind, from `default`."""
    parts = key.split("/")
    return parts[1] if len(parts) > 2 else DEFAULT_SOURCE


def is_mapping_file(key: str) -> bool:
    return key.endswith(MAPPING_SUFFIX)


def mapping_key(key: str) -> str:
    return key + MAPPING_SUFFIX


def received(bucket: str, key: str, size: int, etag: str, at: datetime) -> ImportReport:
    return ImportReport(
        import_id=import_id(bucket, key, etag),
        status="received",
        kind=kind_of(key),
        source=source_of(key),
        bucket=bucket,
        key=key,
        size_bytes=size,
        etag=etag.strip('"'),
        received_at=at,
    )


def running(report: ImportReport, at: datetime) -> ImportReport:
    return report.model_copy(update={"status": "running", "started_at": at})


def _finished(report: ImportReport, at: datetime) -> dict:
    started = report.started_at or at
    return {"finished_at": at, "duration_ms": int((at - started).total_seconds() * 1000)}


def completed(
    report: ImportReport, tally: Tally, *, unmapped: list[str], profiles_written: int, quarantine_key: str | None, at: datetime
) -> ImportReport:
    parsed = max(1, tally.rows_read - tally.unreadable - tally.suppressed)  # rows that could be split into fields
    fields = {
        name: FieldReport(
            filled=q.filled,
            valid=q.filled - q.invalid,
            fill_rate=round(q.filled / parsed, 4),
            validity_rate=round((q.filled - q.invalid) / q.filled, 4) if q.filled else 0.0,
        )
        for name, q in tally.fields.items()
    }
    return report.model_copy(
        update={
            "status": "completed",
            "rows_read": tally.rows_read,
            "rows_parsed": tally.rows_read - tally.unreadable - tally.suppressed,
            "suppressed": tally.suppressed,
            "accepted": tally.accepted,
            "duplicates": tally.duplicates,
            "quarantined": tally.quarantined,
            "profiles_written": profiles_written,
            "fields": fields,
            "unmapped_columns": unmapped,
            "quarantine_key": quarantine_key,
            **_finished(report, at),
        }
    )


def failed(report: ImportReport, reason: str, at: datetime) -> ImportReport:
    return report.model_copy(update={"status": "failed", "failure_reason": reason, **_finished(report, at)})
