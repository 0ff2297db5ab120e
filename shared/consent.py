"""Consent at decision time: the shared vocabulary and rule (pure).

The privacy context owns consent and publishes `ConsentChanged` with the
*effective* permission per purpose (explicit choice, minus restriction and
objections). Every context that decides something about a person keeps a small
projection of these events and asks `allowed()`; an unknown subject falls back
to the default policy (EU: nothing without consent).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Purpose = Literal["analytics", "personalization", "email_marketing", "sms_marketing", "profiling"]
PURPOSES: tuple[Purpose, ...] = ("analytics", "personalization", "email_marketing", "sms_marketing", "profiling")
Objection = Literal["direct_marketing", "profiling"]
# Art. 21: an objection is absolute for what it covers. Personalization is built on
# a profile, so objecting to profiling stops it too.
OBJECTION_COVERS: dict[str, tuple[Purpose, ...]] = {
    "direct_marketing": ("email_marketing", "sms_marketing"),
    "profiling": ("profiling", "personalization"),
}
DefaultPolicy = Literal["eu", "opt_out"]
# What an unknown subject (no ConsentChanged seen) may be used for.
DEFAULT_POLICIES: dict[str, bool] = {"eu": False, "opt_out": True}


class ConsentChanged(BaseModel):
    """Payload of `ConsentChanged`: what the subject's data may be used for now."""

    subject_id: str
    effective: dict[Purpose, bool] = Field(description="Per purpose, after restriction and objections")
    restricted: bool = False
    objections: list[Objection] = Field(default_factory=list)
    changed_at: datetime


def effective(granted: dict[str, bool], *, restricted: bool, objections: list[str]) -> dict[Purpose, bool]:
    """Per purpose: granted explicitly, not restricted (Art. 18), not objected to (Art. 21)."""
    blocked = {p for o in objections for p in OBJECTION_COVERS[o]}
    return {p: bool(granted.get(p)) and not restricted and p not in blocked for p in PURPOSES}


def allowed(projection: dict[str, bool] | None, purpose: Purpose, default_policy: DefaultPolicy = "eu") -> bool:
    """May the subject's data be used for `purpose`? `projection` is None for an unknown subject."""
    if projection is None:
        return DEFAULT_POLICIES[default_policy]
    return bool(projection.get(purpose))


# The lawful basis of a processing (Art. 6): consent, or legitimate interest with the right to object. Which one
# applies to what is configuration (functions/profiles/settings.py), documented in docs/security.md.
LawfulBasis = Literal["consent", "legitimate_interest"]


def may_process(state: ConsentChanged | None, purposes: tuple[Purpose, ...], basis: LawfulBasis,
                default_policy: DefaultPolicy = "eu") -> bool:
    """May the subject's data be used for any of `purposes`? On consent: only with it (an unknown subject gets the
    default policy). On legitimate interest: unless they restricted processing or objected to profiling."""
    if basis == "legitimate_interest":
        return state is None or not (state.restricted or "profiling" in state.objections)
    if state is None:
        return DEFAULT_POLICIES[default_policy]
    return any(state.effective.get(p) for p in purposes)
