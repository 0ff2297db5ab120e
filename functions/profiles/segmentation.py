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
from shared.catalog import DEFAULT_SENSITIVE_CATEGORIES
from shared.consent import ConsentChanged, DefaultPolicy, LawfulBasis, may_process

# A data set whose newest order is older than this is historical (an archive, a
# public data set): segments are computed as of its newest order, not today.
HISTORICAL_AFTER = timedelta(days=30)
DUPLICATE_LABEL = "quality:possible_duplicate"


@dataclass
class ProfileInputs:
    orders: dict[str, list] = field(default_factory=dict)  # order_id -> [at, amount, currency, quantity, items]
    campaign: dict[str, Any] | None = None
    counters: dict[str, int] = field(default_factory=dict)
    searched: list[str] = field(default_factory=list)  # distinct search terms (a bounded set, not counters)
    attributes: dict[str, Any] = field(default_factory=dict)
    previous_labels: list[str] | None = None
    previous_detail: str | None = None
    # Restricted (Art. 18) or objecting to profiling (Art. 21): the data stays, no segments are made of it.
    profiling_stopped: bool = False
    consent: ConsentChanged | None = None  # the person's latest ConsentChanged (None: none seen)


@dataclass(frozen=True)
class SegmentPolicy:
    """What segments may be made of: never sensitive categories; behaviour only on its lawful basis (profiling
    consent by default; legitimate interest: unless objected to)."""

    sensitive: frozenset[str] = frozenset(DEFAULT_SENSITIVE_CATEGORIES)
    behaviour_basis: LawfulBasis = "consent"
    default_policy: DefaultPolicy = "eu"

    def behaviour_allowed(self, consent: ConsentChanged | None) -> bool:
        return may_process(consent, ("profiling",), self.behaviour_basis, self.default_policy)


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
    base: Base
    records: list[SegmentRecord]
    changes: list[ProfileChange]
    counts: dict[str, int]
    profiles: int
    quality: dict[str, Any]


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


@dataclass(frozen=True)
class Base:
    """What one profile's segments are computed against: the base's quintiles and date."""

    quintiles: segments.Quintiles
    as_of: datetime
    historical: bool  # as_of is pinned to a historical data set's newest order

    def to_json(self) -> str:
        return json.dumps({"quintiles": asdict(self.quintiles), "as_of": self.as_of.isoformat(), "historical": self.historical})

    @classmethod
    def from_json(cls, text: str) -> Base:
        data = json.loads(text)
        q = data["quintiles"]
        quintiles = segments.Quintiles(**{k: tuple(v) if isinstance(v, list) else v for k, v in q.items()})
        return cls(quintiles, datetime.fromisoformat(data["as_of"]), data["historical"])

    def at(self, now: datetime) -> datetime:
        """The date to segment for now: today for a live shop, the pinned date for historical data."""
        return self.as_of if self.historical else now


def segment_one(
    profile_id: str, inputs: ProfileInputs, base: Base, as_of: datetime, duplicates: list[str] | None,
    personas=segments.DEFAULT_PERSONAS, policy: SegmentPolicy = SegmentPolicy(),
) -> tuple[list[str], SegmentRecord | None, ProfileChange | None]:
    """(labels, the record to write if anything changed, the change to publish if membership changed).

    `duplicates` None means unknown (an incremental update): the previous flag is kept.
    """
    allowed = policy.behaviour_allowed(inputs.consent)  # without it, e-mail engagement still counts
    parts = [segments.behaviour_segments(inputs.counters if allowed else {}, inputs.campaign, personas, policy.sensitive,
                                         inputs.searched if allowed else ())]
    if inputs.orders:
        parts.insert(0, segments.purchase_segments(_history(inputs.orders), base.quintiles, as_of))
    combined = segments.combine() if inputs.profiling_stopped else segments.combine(*parts)
    previous = inputs.previous_labels or []
    if duplicates is None:
        flagged = DUPLICATE_LABEL in previous
        duplicates = json.loads(inputs.previous_detail or "{}").get("quality", {}).get("possible_duplicates", []) if flagged else []
    if duplicates and not inputs.profiling_stopped:
        combined.labels = sorted([*combined.labels, DUPLICATE_LABEL])
    detail = asdict(combined)
    detail.pop("labels")
    detail["quality"] = quality.quality_score(inputs.attributes, as_of)
    if detail["quality"] is not None:
        detail["quality"]["possible_duplicates"] = duplicates
    detail_json = json.dumps(detail, sort_keys=True)
    if combined.labels == inputs.previous_labels and detail_json == inputs.previous_detail:
        return combined.labels, None, None
    record = SegmentRecord(profile_id, combined.labels, detail_json)
    before, after = set(previous), set(combined.labels)
    change = ProfileChange(profile_id, sorted(after - before), sorted(before - after), combined.labels) if after != before else None
    return combined.labels, record, change


def recompute(profiles: dict[str, ProfileInputs], now: datetime, personas=segments.DEFAULT_PERSONAS,
              policy: SegmentPolicy = SegmentPolicy()) -> Outcome:
    histories = [_history(p.orders) for p in profiles.values() if p.orders]
    duplicates = possible_duplicates(profiles)
    as_of = as_of_for(histories, now)
    base = Base(segments.quintiles(histories, as_of), as_of, historical=as_of != now)
    records, changes, counts = [], [], {}
    for profile_id, inputs in profiles.items():
        labels, record, change = segment_one(profile_id, inputs, base, as_of, duplicates.get(profile_id, []), personas, policy)
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        if record:
            records.append(record)
        if change:
            changes.append(change)
    summary = quality.profile_summary([p.attributes for p in profiles.values()], as_of, len(duplicates))
    return Outcome(base, records, changes, dict(sorted(counts.items())), len(profiles), summary)
