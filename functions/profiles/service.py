"""Use cases of the profiles context that sequence store, logic and publisher (the CRM import and segment
updates still live in consumers.py; issue 18 moves them here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.profiles import collection
from functions.profiles.schemas import CollectResult, Unsubscribed
from functions.profiles.settings import ProcessingSettings
from functions.profiles.store import profile_store
from functions.profiles.wiring import current_vocabulary, publisher
from shared import settings
from shared.errors import Forbidden
from shared.trust import Caller


def record_events(raw_events: list[Any], caller: Caller, correlation_id: str) -> tuple[CollectResult, int]:
    """A storefront or backend batch: validated item by item, admitted as far as the caller proved (shared/trust.py),
    categories and brands as the catalog names them, browsing only on its lawful basis; what is left is published.
    (the answer, how many events were published as interactions)."""
    accepted, rejected, changed = collection.validate_events(raw_events, caller, current_vocabulary())
    processing = settings.load(ProcessingSettings)
    consents = profile_store().consents(collection.subjects_of(accepted))
    recorded, withheld = collection.with_consent(accepted, consents, processing.browsing_basis, processing.consent_default_policy)
    publisher().publish(collection.interaction_events(recorded, correlation_id))
    return CollectResult(accepted=len(accepted), rejected=rejected, changed=changed, withheld=withheld), len(recorded)


def unsubscribe(customer_id: str, token: str, caller: Caller, correlation_id: str) -> Unsubscribed:
    """An RFC 8058 one-click unsubscribe: the same `unsubscribe` event the storefront sends, proven by the link's token."""
    event = {"type": "unsubscribe", "customer_id": customer_id, "unsubscribe_token": token, "timestamp": datetime.now(UTC).isoformat()}
    result, recorded = record_events([event], caller, correlation_id)
    if not recorded:
        raise Forbidden("This unsubscribe link is not valid (or has expired); use the link in a newer e-mail, or the "
                        "privacy centre.", code="invalid_token")
    return Unsubscribed(customer_id=customer_id, unsubscribed=True)
