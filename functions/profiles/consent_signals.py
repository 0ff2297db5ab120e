"""Consent seen in profile data, reported to the privacy context as `ConsentReported` (pure).

The privacy context owns consent; profiles only report what imports and the
storefront tell: CRM opt-ins/opt-outs (e-mail, SMS), unsubscribes from e-mail
campaigns and from the storefront. Payloads match privacy's ConsentSignal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.profiles.schemas import InteractionRecorded

OPT_IN_PURPOSES = {"email_opt_in": "email_marketing", "sms_opt_in": "sms_marketing"}


def _signal(subject_id: str, purpose: str, granted: bool, at: str, source: str) -> dict[str, Any]:
    return {"subject_id": subject_id, "purpose": purpose, "granted": granted, "at": at, "source": source}


def from_chunk(kind: str, profiles: dict[str, dict[str, Any]], imported_at: str) -> list[dict[str, Any]]:
    """Signals in a chunk of an import. A customer row's choice dates from its `updated_at`, else the import."""
    signals = []
    for customer_id, data in profiles.items():
        if kind == "customers":
            at = data.get("updated_at") or imported_at
            signals += [_signal(customer_id, purpose, bool(data[field]), at, "crm_import")
                        for field, purpose in OPT_IN_PURPOSES.items() if field in data]
        elif kind == "campaign":
            unsubscribed = [at for _, event, at in data.values() if event == "unsubscribe"]
            if unsubscribed:
                signals.append(_signal(customer_id, "email_marketing", False, max(unsubscribed), "email_unsubscribe"))
    return signals


def from_interaction(interaction: InteractionRecorded, profile_id: str) -> dict[str, Any] | None:
    if interaction.type != "unsubscribe":
        return None
    return _signal(profile_id, "email_marketing", False, interaction.occurred_at.isoformat(), "email_unsubscribe")
