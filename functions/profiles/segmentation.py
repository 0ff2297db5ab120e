"""Recompute every profile's segments and quality score (pure orchestration).

Input: what the store holds per profile. Output: the segment records that
changed, the ProfileUpdated events to publish and the counts per segment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.profiles import quality, segments

# A data set whose newest order is older than this is historical (an archive, a
# public data set): segments are computed as of its newest order, not today.
HISTORICAL_AFTER = timedelta(days=30)


@dataclass
class ProfileInputs:
    orders: dict[str, list] = field(default_factory=dict)  # order_id -> [at, amount, currency, quantity, items]
    campaign: dict[str, Any] | None = None
    counters: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    previous_labels: list[str] | None = None
    previous_detail: str | None = None


@dataclass(frozen=True)
class SegmentRecord:
    profile_id: str
    labels: list[str]
    detail: str  # JSON: rfm, churn risk, affinities, search terms, quality


@dataclass(frozen=True)
class ProfileChange:
    profile_id: str
    added: list[str]
    removed: list[str]
    labels: list[str]


@dataclass
class Outcome:
    as_of: datetime
    records: list[SegmentRecord]
    changes: list[ProfileChange]
    counts: dict[str, int]
    profiles: int


def _history(orders: dict[str, list]) -> segments.OrderHistory:
    dates = tuple(sorted(datetime.fromisoformat(o[0]) for o in orders.values()))
    return segments.OrderHistory(dates, sum((Decimal(o[1]) for o in orders.values()), Decimal(0)))


def as_of_for(histories: list[segments.OrderHistory], now: datetime) -> datetime:
    newest = max((h.order_dates[-1] for h in histories if h.order_dates), default=None)
    if newest is not None and now - newest > HISTORICAL_AFTER:
        return newest + timedelta(days=1)
    return now


def possible_duplicates(profiles: dict[str, ProfileInputs]) -> dict[str, list[str]]:
    """Profiles that share an e-mail address or phone number with another profile."""
    holders: dict[tuple[str, str], list[str]] = {}
    for profile_id, inputs in profiles.items():
        for field_name in ("email", "phone"):
            value = inputs.attributes.get(field_name, {}).get("value")
            if value:
                holders.setdefault((field_name, value), []).append(profile_id)
    out: dict[str, set[str]] = {}
    for ids in holders.values():
        if len(ids) > 1:
            for profile_id in ids:
                out.setdefault(profile_id, set()).update(i for i in ids if i != profile_id)
    return {profile_id: sorted(others) for profile_id, others in out.items()}


def recompute(profiles: dict[str, ProfileInputs], now: datetime, personas=segments.DEFAULT_PERSONAS) -> Outcome:
    histories = {pid: _history(p.orders) for pid, p in profiles.items() if p.orders}
    duplicates = possible_duplicates(profiles)
    as_of = as_of_for(list(histories.values()), now)
    base = segments.quintiles(histories.values(), as_of)
    records, changes, counts = [], [], {}
    for profile_id, inputs in profiles.items():
        parts = [segments.behaviour_segments(inputs.counters, inputs.campaign, personas)]
        if profile_id in histories:
            parts.insert(0, segments.purchase_segments(histories[profile_id], base, as_of))
        combined = segments.combine(*parts)
        if profile_id in duplicates:
            combined.labels = sorted([*combined.labels, "quality:possible_duplicate"])
        detail = asdict(combined)
        detail.pop("labels")
        detail["quality"] = quality.quality_score(inputs.attributes, as_of)
        if detail["quality"] is not None:
            detail["quality"]["possible_duplicates"] = duplicates.get(profile_id, [])
        detail_json = json.dumps(detail, sort_keys=True)
        for label in combined.labels:
            counts[label] = counts.get(label, 0) + 1
        if combined.labels == inputs.previous_labels and detail_json == inputs.previous_detail:
            continue
        records.append(SegmentRecord(profile_id, combined.labels, detail_json))
        before = set(inputs.previous_labels or [])
        if set(combined.labels) != before:
            changes.append(ProfileChange(profile_id, sorted(set(combined.labels) - before), sorted(before - set(combined.labels)), combined.labels))
    return Outcome(as_of, records, changes, dict(sorted(counts.items())), len(profiles))
