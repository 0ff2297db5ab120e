"""Data-quality score of one profile, 0-100 (pure).

Imports only keep valid values (invalid ones are dropped and counted in the
import report), so a profile's quality is about what is there and how fresh:
- completeness (70 %): share of the key fields present — email, phone,
  first and last name, country, birth date, e-mail opt-in;
- freshness (30 %): 1 when the newest attribute is under a year old, falling
  linearly to 0 at three years.
A profile with no imported attributes (an anonymous visitor) has no score.
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
