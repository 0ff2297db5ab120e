"""Run one export through parse -> map -> validate -> deduplicate -> aggregate.

Rows are aggregated per profile in chunks of `chunk_rows`, and each chunk is
handed to `on_chunk` (which merges it into stored profiles), so memory stays
bounded whatever the file size and writes grow with profiles, not rows.
Every row ends up counted exactly once: accepted, duplicate, quarantined or
suppressed (the person was erased and must stay out, GDPR Art. 17).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from pydantic import ValidationError

from functions.profiles.crm_import import reader
from functions.profiles.crm_import.mapping import FIELDS, ColumnMapping, Kind, resolve_columns
from functions.profiles.crm_import.rows import REQUIRED, models

DATE_FIELDS: dict[Kind, tuple[str, ...]] = {
    "customers": ("birth_date", "created_at", "updated_at"),
    "orders": ("ordered_at",),
    "campaign": ("occurred_at",),
}
DEFAULT_CHUNK_ROWS = 50_000


class ImportFailed(Exception):
    """The export cannot be imported at all; the message is the report's reason."""


@dataclass(frozen=True)
class QuarantinedRow:
    row: int
    raw: str
    reasons: list[str]


@dataclass
class FieldQuality:
    filled: int = 0
    invalid: int = 0


@dataclass
class Tally:
    """Every row read is accepted, a duplicate or quarantined; fill and validity
    are counted over the rows that could be split into fields."""

    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    unreadable: int = 0  # quarantined because the line itself could not be split
    suppressed: int = 0  # rows of erased people: skipped before validation, never quarantined
    fields: dict[str, FieldQuality] = field(default_factory=dict)

    def add_duplicates(self, count: int) -> None:
        """Rows first accepted that the store found already imported."""
        self.accepted -= count
        self.duplicates += count


@dataclass
class Chunk:
    """Per-profile aggregates of up to `chunk_rows` rows."""

    kind: Kind
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: int = 0


def _date_converter(date_format: str | None) -> Callable[[str], str] | None:
    if not date_format:
        return None
    if date_format == "%Y%m%d":  # common in legacy exports; 20x faster than strptime
        return lambda text: f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else text
    def convert(text: str) -> str:
        try:
            return datetime.strptime(text, date_format).isoformat()
        except ValueError:
            return text  # left as is: validation reports it
    return convert


def _derived_order_id(record: dict[str, str], seen: dict[int, int]) -> str:
    """A stable id for exports without order ids: the order's content plus how
    many identical orders came before it in the file (two identical orders on one
    day stay two orders; the same file dropped again gives the same ids)."""
    get = record.get
    content = f"{get('customer_id', '')}\x1f{get('ordered_at', '')}\x1f{get('amount', '')}\x1f{get('quantity', '')}\x1f{get('items', '')}"
    key = hash(content)
    occurrence = seen.get(key, 0)
    seen[key] = occurrence + 1
    return "d-" + hashlib.sha1(f"{content}\x1f{occurrence}".encode()).hexdigest()[:20]


def _utc_iso(moment: datetime) -> str:
    """Dates without a zone are UTC (see rows.py)."""
    return moment.isoformat() if moment.tzinfo else moment.isoformat() + "+00:00"


def _fold_order(profiles: dict[str, dict[str, Any]], row: Any) -> bool:
    orders = profiles.get(row.customer_id)
    if orders is None:
        orders = profiles[row.customer_id] = {}
    elif row.order_id in orders:
        return False
    orders[row.order_id] = (_utc_iso(row.ordered_at), str(row.amount), row.currency, row.quantity, row.items)
    return True


def _fold_campaign_event(profiles: dict[str, dict[str, Any]], row: Any) -> bool:
    events = profiles.setdefault(row.customer_id, {})
    at = _utc_iso(row.occurred_at)
    key = hashlib.sha1(f"{row.campaign_id}\x1f{row.event}\x1f{at}".encode()).hexdigest()[:16]
    if key in events:
        return False
    events[key] = (row.campaign_id, row.event, at)
    return True


def _fold_customer(profiles: dict[str, dict[str, Any]], row: Any) -> bool:
    attributes = row.model_dump(mode="json", exclude={"customer_id"}, exclude_none=True)
    current = profiles.setdefault(row.customer_id, {})
    if attributes.items() <= current.items():
        return False
    current.update(attributes)
    return True


# Fold a valid row into its profile's aggregate; False when it adds nothing (a duplicate).
# Per profile: orders -> {order_id: (at, amount, currency, quantity, items)},
# campaign -> {event key: (campaign_id, event, at)}, customers -> {attribute: value}.
FOLDS: dict[Kind, Callable[[dict[str, dict[str, Any]], Any], bool]] = {
    "orders": _fold_order, "campaign": _fold_campaign_event, "customers": _fold_customer,
}


def run(
    kind: Kind,
    binary: BinaryIO,
    mapping: ColumnMapping,
    *,
    on_chunk: Callable[[Chunk], None],
    on_quarantine: Callable[[QuarantinedRow], None],
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    is_suppressed: Callable[[dict[str, str]], bool] | None = None,
) -> tuple[Tally, list[str]]:
    """Import one export. Returns the tally and the columns nothing was mapped to."""
    try:
        header, raw_rows = reader.rows(binary, mapping)
        resolved, unmapped = resolve_columns(kind, header, mapping)
    except (reader.UnreadableFile, ValueError) as exc:
        raise ImportFailed(str(exc)) from exc
    defaults = {"currency": mapping.currency} if kind == "orders" and "currency" not in resolved and mapping.currency else {}
    derive_ids = kind == "orders" and "order_id" not in resolved and mapping.derive_order_id
    missing = sorted(REQUIRED[kind] - set(resolved) - set(defaults) - ({"order_id"} if derive_ids else set()))
    if missing:
        raise ImportFailed(
            f"no column for required field(s) {', '.join(missing)} among {header}; "
            "name them in a mapping file (<export>.mapping.json)"
        )
    convert_date = _date_converter(mapping.date_format)
    date_fields = [f for f in DATE_FIELDS[kind] if f in resolved] if convert_date else []
    decimal_comma = mapping.decimal_comma and "amount" in resolved
    model, required, fold = models()[kind], REQUIRED[kind], FOLDS[kind]
    columns = [(name, header.index(column)) for name, column in resolved.items()]
    mapped = len(columns)
    tally = Tally(fields={f: FieldQuality() for f in FIELDS[kind] if f in resolved or f in defaults})
    empty: Counter[str] = Counter()  # counted only for rows with gaps: most rows have none
    seen_orders: dict[int, int] = {}
    chunk = Chunk(kind)
    # Plain locals in the loop: this runs 100k times a second.
    rows_read = accepted = duplicates = quarantined = unreadable = suppressed = in_chunk = 0

    try:
        for raw in raw_rows:
            rows_read += 1
            values = raw.values
            if values is None:
                quarantined += 1
                unreadable += 1
                on_quarantine(QuarantinedRow(raw.number, raw.raw, [raw.problem or "unreadable line"]))
                continue
            record = {name: text for name, index in columns if (text := values[index].strip())}
            if is_suppressed is not None and is_suppressed(record):
                suppressed += 1
                continue
            if len(record) < mapped:
                empty.update(name for name, _ in columns if name not in record)
            if defaults:
                record = {**defaults, **record}
            for name in date_fields:
                if name in record:
                    record[name] = convert_date(record[name])
            if decimal_comma and "amount" in record:
                record["amount"] = record["amount"].replace(".", "").replace(",", ".")
            if derive_ids:
                record["order_id"] = _derived_order_id(record, seen_orders)
            try:
                row = model.model_validate(record)
            except ValidationError as exc:
                bad = {str(e["loc"][0]) if e["loc"] else "" for e in exc.errors()}
                if bad & required or "" in bad:
                    quarantined += 1
                    on_quarantine(QuarantinedRow(raw.number, raw.raw, _reasons(exc, record)))
                    continue
                for name in bad:  # optional fields that are present but invalid: dropped, counted
                    tally.fields[name].invalid += 1
                    record.pop(name)
                row = model.model_validate(record)
            if fold(chunk.profiles, row):
                accepted += 1
                in_chunk += 1
                if in_chunk >= chunk_rows:
                    chunk.rows = in_chunk
                    on_chunk(chunk)
                    chunk, in_chunk = Chunk(kind), 0
            else:
                duplicates += 1
    except reader.UnreadableFile as exc:
        raise ImportFailed(f"{exc} (after {rows_read} rows)") from exc
    if chunk.profiles:
        chunk.rows = in_chunk
        on_chunk(chunk)
    parsed = rows_read - unreadable - suppressed
    for name, quality in tally.fields.items():
        quality.filled = parsed - empty[name]
    tally.rows_read, tally.accepted, tally.duplicates = rows_read, accepted, duplicates
    tally.quarantined, tally.unreadable, tally.suppressed = quarantined, unreadable, suppressed
    return tally, unmapped


def _reasons(exc: ValidationError, record: dict[str, str]) -> list[str]:
    reasons = []
    for error in exc.errors(include_url=False):
        name = ".".join(str(p) for p in error["loc"]) or "row"
        message = error["msg"].removeprefix("Value error, ")
        shown = f" ({record[name]!r})" if name in record else ""
        reasons.append(f"{name}: {message}{shown}")
    return reasons
