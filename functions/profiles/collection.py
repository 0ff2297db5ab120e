"""Event collection: validate a tracking batch item by item, admit what the caller may send (shared/trust.py),
turn it into events."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from functions.profiles.schemas import ConversionRecorded, InteractionRecorded, Rejection, TrackingEvent
from shared.catalog import CatalogPublished
from shared.consent import ConsentChanged, DefaultPolicy, LawfulBasis, may_process
from shared.envelope import EventEnvelope, derived_event_id, new_event
from shared.trust import VISITOR_ID_RULE, Caller, is_visitor_id

CONTEXT = "profiles"


def _messages(error: ValidationError) -> list[str]:
    out = []
    for err in error.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        out.append(f"{where}: {message}" if where else message)
    return out


CUSTOMER_PROOF = ("customer_id needs that customer's X-Persona-Session (the shop's sign-in gives it) or the retailer's "
                  "backend (/v1/server/events)")
UNSUBSCRIBE_PROOF = CUSTOMER_PROOF + ", or the one-click unsubscribe_token of the customer's e-mail"
PURCHASE_AS_PAGE_VIEW = ("recorded as a view of the order page: purchases carry their value only from the retailer's "
                         "backend (/v1/server/events)")


@dataclass(frozen=True)
class Vocabulary:
    """The categories and brands of the published catalog (shared/catalog.py), as sets."""

    categories: frozenset[str]
    brands: frozenset[str]

    @classmethod
    def of(cls, published: CatalogPublished) -> Vocabulary:
        return cls(frozenset(published.categories), frozenset(published.brands))


def known_words(event: TrackingEvent, vocabulary: Vocabulary | None) -> tuple[TrackingEvent, list[str]]:
    """Category and brand only as the published catalog names them; anything else is dropped from the event
    (which is still recorded). Until a catalog is published there is nothing to check against."""
    if vocabulary is None:
        return event, []
    dropped = {field: value for field, value, known in (("category", event.category, vocabulary.categories),
                                                        ("brand", event.brand, vocabulary.brands))
               if value is not None and value not in known}
    if not dropped:
        return event, []
    notes = [f"{field} {value[:40]!r} is not in the published catalog: dropped" for field, value in dropped.items()]
    return event.model_copy(update=dict.fromkeys(dropped)), notes


def admit(event: TrackingEvent, caller: Caller) -> tuple[TrackingEvent | None, str | None]:
    """What of the event the caller may send: (the event to record or None, why it was refused or changed).

    A visitor's id must be a secret (not guessable), a customer id needs proof, and revenue comes only from
    the backend: a storefront purchase is kept as a view of the order page, without a value."""
    if event.anonymous_id and not is_visitor_id(event.anonymous_id):
        return None, VISITOR_ID_RULE
    if event.customer_id:
        if event.type == "unsubscribe":
            if not caller.may_unsubscribe(event.customer_id, event.unsubscribe_token):
                return None, UNSUBSCRIBE_PROOF
        elif not caller.proves(event.customer_id):
            return None, CUSTOMER_PROOF
    if event.type == "purchase" and not caller.backend:
        return event.model_copy(update={"type": "page_view", "value": None, "currency": None}), PURCHASE_AS_PAGE_VIEW
    return event, None


# Behaviour a visitor shows on the storefront: stored only on the configured lawful basis (consent by default).
# Purchases from the backend (a contract), identify (a proven link) and unsubscribe (a consent signal) always count.
BROWSING = frozenset({"page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "email_click"})
BROWSING_PURPOSES = ("analytics", "personalization")


def subjects_of(events: Iterable[TrackingEvent]) -> set[str]:
    return {i for e in events if e.type in BROWSING for i in (e.customer_id, e.anonymous_id) if i}


def with_consent(events: list[TrackingEvent], consents: dict[str, ConsentChanged], basis: LawfulBasis,
                 default_policy: DefaultPolicy) -> tuple[list[TrackingEvent], int]:
    """(the events that may be stored, how many were withheld). Browsing counts under the customer's own choice when
    there is one, else the visitor's: the same precedence as recommendations and assignments."""
    kept = []
    for event in events:
        state = next((consents[i] for i in (event.customer_id, event.anonymous_id) if i and i in consents), None)
        if event.type not in BROWSING or may_process(state, BROWSING_PURPOSES, basis, default_policy):
            kept.append(event)
    return kept, len(events) - len(kept)


def validate_events(raw_events: Iterable[Any], caller: Caller, vocabulary: Vocabulary | None = None
                    ) -> tuple[list[TrackingEvent], list[Rejection], list[Rejection]]:
    """(accepted events, rejected items, items accepted with a change), each item with its index and reasons."""
    accepted: list[TrackingEvent] = []
    rejected: list[Rejection] = []
    changed: list[Rejection] = []
    for index, raw in enumerate(raw_events):
        try:
            event = TrackingEvent.model_validate(raw)
        except ValidationError as exc:
            rejected.append(Rejection(index=index, errors=_messages(exc)))
            continue
        admitted, reason = admit(event, caller)
        if admitted is None:
            rejected.append(Rejection(index=index, errors=[reason or "refused"]))
            continue
        admitted, notes = known_words(admitted, vocabulary)
        accepted.append(admitted)
        if reason or notes:
            changed.append(Rejection(index=index, errors=[reason] * bool(reason) + notes))
    return accepted, rejected, changed


def content_id(event: TrackingEvent) -> str:
    """The id of an event sent without `event_id`: a digest of what it says (timestamp included). A batch
    resent after a 503 then carries the same ids, so nothing is counted twice; the price is that two
    events identical to the millisecond count once, which is what they almost always are."""
    canonical = json.dumps(event.model_dump(mode="json", exclude={"event_id"}), sort_keys=True, separators=(",", ":"))
    return "c-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def to_interaction(event: TrackingEvent) -> InteractionRecorded:
    return InteractionRecorded(
        interaction_id=event.event_id or content_id(event),
        occurred_at=event.timestamp,
        **event.model_dump(exclude={"event_id", "timestamp"}),
    )


def interaction_events(events: Iterable[TrackingEvent], correlation_id: str) -> list[EventEnvelope]:
    """InteractionRecorded for every event, and ConversionRecorded for purchases.

    Their event ids derive from the interaction id: when PutEvents rejected part of a batch
    the client gets a 503 and sends the batch again, and the events published the first
    time must then be the same events (results counts each event id once)."""
    out: list[EventEnvelope] = []
    for event in events:
        interaction = to_interaction(event)
        out.append(new_event("InteractionRecorded", interaction, context=CONTEXT, correlation_id=correlation_id,
                             event_id=derived_event_id("InteractionRecorded", interaction.interaction_id)))
        if interaction.type == "purchase":
            conversion = ConversionRecorded.model_validate(interaction.model_dump(include=set(ConversionRecorded.model_fields)))
            out.append(new_event("ConversionRecorded", conversion, context=CONTEXT, correlation_id=correlation_id,
                                 event_id=derived_event_id("ConversionRecorded", interaction.interaction_id)))
    return out
