"""Consent logic (pure): choices into append-only records, TCF strings into purposes.

TCF v2 purposes -> ours (TCF has no e-mail or SMS marketing purposes, so a TC
string never changes those):
- personalization: 1 (store/access information on a device), 5 (create a
  personalised content profile) and 6 (select personalised content) all granted;
- profiling: 1 and 5 (building a profile);
- analytics: 1 and 8 (measure content performance).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from functions.privacy.schemas import ConsentRecord, ConsentSource, ConsentUpdate
from shared.errors import BadRequest

TCF_PURPOSES: dict[str, tuple[int, ...]] = {
    "personalization": (1, 5, 6),
    "profiling": (1, 5),
    "analytics": (1, 8),
}
_CORE_MIN_BYTES = 29  # the fixed fields of a v2 core segment take 213 bits


def decode_tcf(tc_string: str) -> dict[str, bool]:
    """Our purposes from an IAB TCF v2 TC string (decoded by `iab-tcf-bitarray`).

    The decoder accepts nearly anything, so the core segment is checked first:
    URL-safe base64, long enough, version 2. Otherwise a clear 400.
    """
    from iab_tcf import decode_v2  # only the consent API needs it

    core = tc_string.strip().split(".")[0]
    try:
        raw = base64.urlsafe_b64decode(core + "=" * (-len(core) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("tcf_string is not a TCF v2 TC string (not URL-safe base64)", code="invalid_tcf_string") from exc
    if len(raw) < _CORE_MIN_BYTES or raw[0] >> 2 != 2:
        raise BadRequest("tcf_string is not a TCF v2 TC string (core segment too short or not version 2)", code="invalid_tcf_string")
    try:
        granted = decode_v2(tc_string.strip()).purposes_consent
    except Exception as exc:  # the decoder raises bare exceptions on truncated segments
        raise BadRequest(f"tcf_string could not be decoded: {exc}", code="invalid_tcf_string") from exc
    return {purpose: all(granted.get(n, False) for n in numbers) for purpose, numbers in TCF_PURPOSES.items()}


def records_for(update: ConsentUpdate, at: datetime) -> list[ConsentRecord]:
    """The history entries an update appends. Explicit purposes win over the TC string's."""
    choices = {**(decode_tcf(update.tcf_string) if update.tcf_string else {}), **update.purposes}
    return [
        ConsentRecord(purpose=purpose, granted=granted, at=at, source=update.source, policy_version=update.policy_version)
        for purpose, granted in sorted(choices.items())
    ]


def apply(current: dict[str, ConsentRecord], records: list[ConsentRecord]) -> tuple[dict[str, ConsentRecord], list[ConsentRecord]]:
    """(new current choices, the records that take effect).

    A record older than the current choice for its purpose (a CRM export of last
    week's opt-in arriving after today's withdrawal) is kept in history only.
    """
    merged = dict(current)
    effective = []
    for record in records:
        now = merged.get(record.purpose)
        if now is not None and now.at > record.at:
            continue
        merged[record.purpose] = record
        effective.append(record)
    return merged, effective


def signal_record(purpose: str, granted: bool, at: datetime, source: ConsentSource) -> ConsentRecord:
    return ConsentRecord(purpose=purpose, granted=granted, at=at, source=source)  # type: ignore[arg-type]
