"""Whether a person's data may personalize an answer (pure; no numpy, so the light
consumers of this context can use it too)."""

from __future__ import annotations

from functions.recommend.schemas import ConsentState, FallbackReason
from shared.consent import DefaultPolicy, allowed


def fallback_reason(state: ConsentState | None, email: bool, policy: DefaultPolicy) -> FallbackReason | None:
    """Why this subject may not get a personalized answer; None when they may."""
    if state is None:
        return None if allowed(None, "personalization", policy) else "unknown_visitor"
    if state.restricted:
        return "restricted"
    if "profiling" in state.objections:
        return "objection"
    if not state.personalization or (email and not state.email_marketing):
        return "no_consent"
    return None
