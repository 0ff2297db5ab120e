"""Privacy requests (pure): deadlines, task bookkeeping, export bundles, pseudonymisation.

Deadlines (GDPR Art. 12(3)): one month from receipt — the same day of the next
month, or that month's last day when it has no such day — extendable by up to
two further months with a recorded reason. A request is `at_risk` within
AT_RISK_WITHIN of its deadline and `overdue` after it.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import uuid
import zipfile
from datetime import datetime, timedelta
from typing import Any

from functions.privacy.schemas import Extension, PrivacyRequest, PrivacyRequestIn, TaskState
from shared.csv_cells import safe_cell
from shared.errors import Conflict
from shared.privacy_tasks import PrivacyTaskCompleted

AT_RISK_WITHIN = timedelta(days=7)
MAX_EXTENSION_MONTHS = 2
REPUBLISH_AFTER = timedelta(hours=1)
RATE_LIMIT = 5  # requests per subject ...
RATE_WINDOW = timedelta(days=1)  # ... within this window


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def new_request(body: PrivacyRequestIn, now: datetime) -> PrivacyRequest:
    return PrivacyRequest(
        request_id=uuid.uuid4().hex,
        type=body.type,
        status="pending_verification",
        subject_id=body.subject_id,
        contact=body.contact,
        corrections=body.corrections,
        objection=body.objection,
        received_at=now,
        due_at=add_months(now, 1),
    )


def extend(request: PrivacyRequest, extension: Extension) -> PrivacyRequest:
    months = request.extension_months + extension.months
    if months > MAX_EXTENSION_MONTHS:
        raise Conflict(f"The deadline can be extended by at most {MAX_EXTENSION_MONTHS} months in all "
                       f"({request.extension_months} already).", code="extension_limit")
    if request.status == "completed":
        raise Conflict("The request is already completed.", code="already_completed")
    return request.model_copy(update={
        "extension_months": months, "extension_reason": extension.reason, "due_at": add_months(request.received_at, 1 + months),
    })


def flag(request: PrivacyRequest, now: datetime) -> str | None:
    if request.status in ("completed", "lifted"):
        return None
    if now > request.due_at:
        return "overdue"
    return "at_risk" if request.due_at - now <= AT_RISK_WITHIN else "on_track"


def verified(request: PrivacyRequest, contexts: list[str], now: datetime, identifiers: list[str]) -> PrivacyRequest:
    """Verified: every context that holds personal data gets a task, about exactly these ids."""
    return request.model_copy(update={
        "status": "in_progress", "verified_at": now, "last_published_at": now, "tasks": {c: TaskState() for c in contexts},
        "identifiers": identifiers,
    })


def record_task(request: PrivacyRequest, done: PrivacyTaskCompleted) -> tuple[PrivacyRequest, bool]:
    """(request with the task recorded, whether this answer was new)."""
    task = request.tasks.get(done.context)
    if task is not None and task.status == "done":
        return request, False
    tasks = {**request.tasks, done.context: TaskState(
        status="done", action=done.action, records=done.records, part_key=done.part_key, completed_at=done.completed_at)}
    return request.model_copy(update={"tasks": tasks}), True


def all_answered(request: PrivacyRequest) -> bool:
    return request.status == "in_progress" and all(t.status == "done" for t in request.tasks.values())


def unanswered(request: PrivacyRequest) -> list[str]:
    return sorted(c for c, t in request.tasks.items() if t.status != "done")


def needs_republish(request: PrivacyRequest, now: datetime) -> bool:
    last = request.last_published_at or request.verified_at
    return request.status == "in_progress" and bool(unanswered(request)) and last is not None and now - last >= REPUBLISH_AFTER


def completed(request: PrivacyRequest, now: datetime, *, export_key: str | None = None) -> PrivacyRequest:
    return request.model_copy(update={"status": "completed", "completed_at": now, "export_key": export_key})


def pseudonymised(request: PrivacyRequest, subject_pseudonym: str) -> PrivacyRequest:
    """What an erasure keeps of its own request: no identifier, no contact, no corrections."""
    return request.model_copy(update={"subject_id": subject_pseudonym, "contact": None, "corrections": None,
                                      "customer_id": None, "identifiers": []})


def bundle(request: PrivacyRequest, parts: dict[str, dict[str, list[dict[str, Any]]]], now: datetime) -> bytes:
    """The access/portability bundle: one zip with `data.json` (everything, machine-readable,
    Art. 20) and one CSV per context and table, plus a README."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps({
            "request_id": request.request_id, "subject_id": request.subject_id, "generated_at": now.isoformat(),
            "contexts": parts,
        }, indent=2, sort_keys=True, default=str))
        for context, tables in sorted(parts.items()):
            for table, rows in sorted(tables.items()):
                archive.writestr(f"{context}/{table}.csv", _csv(rows))
        archive.writestr("README.txt", (
            "Your personal data held by Persona, one folder per part of the system.\n"
            "data.json has everything; each CSV is one table of one part.\n"
            "Nested values are JSON text inside the CSV cells.\n"))
    return out.getvalue()


def _csv(rows: list[dict[str, Any]]) -> str:
    """One table as CSV; every cell (and column name) that a spreadsheet would run as a formula is escaped."""
    columns = sorted({name for row in rows for name in row})
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow([safe_cell(_cell(row.get(c))) for c in columns])
    return text.getvalue()


def _cell(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else json.dumps(value, default=str, sort_keys=True)
