"""Data-quality score of one profile, 0-100 (pure).

Imports only keep valid values (invalid ones are dropped and counted in the
import report), so a profile's quality is about what is there and how fresh:
- completeness (70 %): share of the key fields present — email, phone,
  first and last name, country, birth date, e-mail opt-in;
- freshness (30 %): 1 when the newest attribute is under a year old, falling
  linearly to 0 at three years.
A profile with no imported attributes (an anonymous visitor) has no score.

Roll-ups: `profile_summary` over every profile (stored with each full segment
run) and `source_quality` per source over its import reports; both are served
at `GET /v1/quality`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

KEY_FIELDS = ("email", "phone", "first_name", "last_name", "country", "birth_date", "email_opt_in")
COMPLETENESS_WEIGHT = 0.7
FRESH_DAYS, STALE_DAYS = 365, 3 * 365


def quality_score(attributes: dict[str, Any], as_of: datetime) -> dict[str, Any] | None:
    if not attributes:
        return None
    present = [f for f in KEY_FIELDS if f in attributes]
    completeness = len(present) / len(KEY_FIELDS)
    newest = max(datetime.fromisoformat(str(a["at"])) for a in attributes.values())
    age_days = (as_of - newest).total_seconds() / 86400
    freshness = 1.0 if age_days <= FRESH_DAYS else max(0.0, 1 - (age_days - FRESH_DAYS) / (STALE_DAYS - FRESH_DAYS))
    return {
        "score": round(100 * (COMPLETENESS_WEIGHT * completeness + (1 - COMPLETENESS_WEIGHT) * freshness)),
        "completeness": round(completeness, 3),
        "freshness": round(freshness, 3),
        "missing": [f for f in KEY_FIELDS if f not in attributes],
    }


SCORE_BANDS = (("poor", 0), ("fair", 50), ("good", 80))  # band name, lowest score in it


def profile_summary(attributes_by_profile: list[dict[str, Any]], as_of: datetime, possible_duplicates: int) -> dict[str, Any]:
    """Roll the per-profile scores up: how many scored, mean, bands, which key fields are missing most."""
    scores = [s for s in (quality_score(a, as_of) for a in attributes_by_profile) if s is not None]
    bands = {name: 0 for name, _ in SCORE_BANDS}
    missing = {f: 0 for f in KEY_FIELDS}
    for s in scores:
        bands[next(name for name, low in reversed(SCORE_BANDS) if s["score"] >= low)] += 1
        for f in s["missing"]:
            missing[f] += 1
    return {
        "scored_profiles": len(scores),
        "mean_score": round(sum(s["score"] for s in scores) / len(scores), 1) if scores else None,
        "score_bands": bands,
        "missing_fields": missing,
        "possible_duplicates": possible_duplicates,
    }


def source_quality(reports: list[Any], now: datetime) -> list[dict[str, Any]]:
    """Per (kind, source) over every import report: volumes, duplicate and quarantine rates,
    per-field fill and validity (summed, so large imports weigh more), freshness."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for report in reports:
        if report.kind is not None and report.status in ("completed", "failed"):
            groups.setdefault((report.kind, report.source), []).append(report)
    out = []
    for (kind, source), group in sorted(groups.items()):
        done = [r for r in group if r.status == "completed"]
        rows = sum(r.rows_read for r in done)
        parsed = sum(r.rows_parsed for r in done)
        filled: dict[str, list[int]] = {}
        for r in done:
            for name, f in r.fields.items():
                totals = filled.setdefault(name, [0, 0])
                totals[0] += f.filled
                totals[1] += f.valid
        last = max((r.finished_at for r in done if r.finished_at), default=None)
        out.append({
            "kind": kind,
            "source": source,
            "imports": len(done),
            "failed_imports": len(group) - len(done),
            "last_import_at": last,
            "days_since_last_import": round((now - last).total_seconds() / 86400, 2) if last else None,
            "rows_read": rows,
            "accepted": sum(r.accepted for r in done),
            "duplicates": (dups := sum(r.duplicates for r in done)),
            "quarantined": (quarantined := sum(r.quarantined for r in done)),
            "duplicate_rate": round(dups / rows, 4) if rows else 0.0,
            "quarantine_rate": round(quarantined / rows, 4) if rows else 0.0,
            "fields": {
                name: {"filled": f, "valid": v, "fill_rate": round(f / parsed, 4) if parsed else 0.0,
                       "validity_rate": round(v / f, 4) if f else 0.0}
                for name, (f, v) in sorted(filled.items())
            },
        })
    return out
