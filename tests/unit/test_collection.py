"""Validation of storefront events and their translation into InteractionRecorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from functions.profiles.collection import CUSTOMER_PROOF, PURCHASE_AS_PAGE_VIEW, admit, interaction_events, to_interaction, validate_events
from functions.profiles.schemas import TrackingBatch, TrackingEvent
from shared import sessions
from shared.trust import VISITOR_ID_RULE, Caller
from tests.conftest import visitor

NOW = datetime.now(UTC).isoformat()
ANON = visitor("anon-1")
KEY = "session-key"


def event(**fields):
    return {"type": "page_view", "anonymous_id": ANON, "timestamp": NOW, **fields}


def storefront(customer_id: str | None = None) -> Caller:
    """A storefront caller, signed in as `customer_id` when given."""
    now = datetime.now(UTC)
    session = sessions.issue(KEY, customer_id, now) if customer_id else None
    return Caller(now=now, session=session, session_key=lambda: KEY)


BACKEND = Caller(now=datetime.now(UTC), backend=True, session_key=lambda: KEY)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"anonymous_id": None}, "anonymous_id or customer_id is required"),
        ({"type": "identify"}, "identify needs both"),
        ({"type": "product_view"}, "product_view needs item_id"),
        ({"type": "add_to_cart"}, "add_to_cart needs item_id"),
        ({"type": "search"}, "search needs query"),
        ({"type": "purchase", "value": "10.00"}, "purchase needs value and currency"),
        ({"timestamp": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "in the future"),
        ({"timestamp": "2026-11-24T10:00:00"}, "timezone"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
        ({"type": "teleport"}, "Input should be"),
        ({"anonymous_id": "has spaces"}, "String should match pattern"),
        ({"value": "-1", "currency": "EUR", "type": "purchase"}, "greater than or equal to 0"),
        ({"context": {"device": "toaster"}}, "Input should be"),
    ],
)
def test_each_rule_rejects_what_it_should(fields, reason):
    with pytest.raises(ValidationError, match=reason):
        TrackingEvent.model_validate(event(**fields))


def test_small_clock_skew_is_accepted():
    TrackingEvent.model_validate(event(timestamp=(datetime.now(UTC) + timedelta(minutes=2)).isoformat()))


def test_valid_events_of_every_kind():
    for fields in (
        {"type": "identify", "customer_id": "c-1"},
        {"type": "product_view", "item_id": "sku-1", "category": "shoes", "brand": "Stride"},
        {"type": "search", "query": "rain jacket"},
        {"type": "purchase", "value": "149.90", "currency": "EUR"},
        {"type": "page_view", "context": {"device": "mobile", "locale": "fr-FR", "traffic_source": "email", "page": "/"}},
    ):
        TrackingEvent.model_validate(event(**fields))


def test_validate_events_keeps_indexes_of_rejections_and_accepts_the_rest():
    accepted, rejected, changed = validate_events(
        [event(), {"type": "page_view"}, event(type="search"), event(customer_id="c-9"), event(customer_id="c-8")], storefront("c-9"))
    assert [e.customer_id for e in accepted] == [None, "c-9"]
    assert [r.index for r in rejected] == [1, 2, 4]
    assert any("timestamp: Field required" in e for e in rejected[0].errors)
    assert rejected[1].errors == ["search needs query"]
    assert rejected[2].errors == [CUSTOMER_PROOF] and changed == []


def test_a_non_object_item_is_rejected_not_crashed():
    accepted, rejected, _ = validate_events(["nope", 42, None], storefront())
    assert accepted == [] and [r.index for r in rejected] == [0, 1, 2]


@pytest.mark.parametrize("anonymous_id", ["anon-1", "00004", "C-1001", "a" * 40, "1234567890" * 4, "abcdefghijklmnopqrstuvwxyz0123"])
def test_a_guessable_anonymous_id_is_refused(anonymous_id):
    admitted, reason = admit(TrackingEvent.model_validate(event(anonymous_id=anonymous_id)), storefront())
    assert admitted is None and reason == VISITOR_ID_RULE


def test_a_customer_id_needs_that_customers_session_or_the_backend():
    identify = TrackingEvent.model_validate(event(type="identify", customer_id="C-1001"))
    assert admit(identify, storefront()) == (None, CUSTOMER_PROOF)
    assert admit(identify, storefront("C-1002")) == (None, CUSTOMER_PROOF)
    assert admit(identify, storefront("C-1001")) == (identify, None)
    assert admit(identify, BACKEND) == (identify, None)
    expired = Caller(now=datetime.now(UTC) + timedelta(hours=13), session=storefront("C-1001").session, session_key=lambda: KEY)
    assert admit(identify, expired) == (None, CUSTOMER_PROOF)


def test_a_storefront_purchase_is_a_view_of_the_order_page_and_only_the_backend_sends_revenue():
    purchase = TrackingEvent.model_validate(event(type="purchase", customer_id="C-1", value="99999999.00", currency="EUR"))
    recorded, reason = admit(purchase, storefront("C-1"))
    assert (recorded.type, recorded.value, recorded.currency, reason) == ("page_view", None, None, PURCHASE_AS_PAGE_VIEW)
    assert admit(purchase, BACKEND) == (purchase, None)


def test_an_unsubscribe_for_a_customer_needs_their_session_or_their_one_click_token():
    now = datetime.now(UTC)
    unsubscribe = event(type="unsubscribe", anonymous_id=None, customer_id="C-7")
    assert admit(TrackingEvent.model_validate(unsubscribe), storefront())[0] is None
    forged = sessions.issue_unsubscribe("another key", "C-7", now)
    assert admit(TrackingEvent.model_validate({**unsubscribe, "unsubscribe_token": forged}), storefront())[0] is None
    someone_elses = sessions.issue_unsubscribe(KEY, "C-8", now)
    assert admit(TrackingEvent.model_validate({**unsubscribe, "unsubscribe_token": someone_elses}), storefront())[0] is None
    a_session = sessions.issue(KEY, "C-7", now)  # a session is not an unsubscribe token (purpose-bound)
    assert admit(TrackingEvent.model_validate({**unsubscribe, "unsubscribe_token": a_session}), storefront())[0] is None
    mailed = sessions.issue_unsubscribe(KEY, "C-7", now)
    assert admit(TrackingEvent.model_validate({**unsubscribe, "unsubscribe_token": mailed}), storefront())[0] is not None
    assert admit(TrackingEvent.model_validate(unsubscribe), storefront("C-7"))[0] is not None


def test_batch_limits():
    with pytest.raises(ValidationError):
        TrackingBatch.model_validate({"events": []})
    with pytest.raises(ValidationError):
        TrackingBatch.model_validate({"events": [event()] * 501})
    assert len(TrackingBatch.model_validate({"events": [event()] * 500}).events) == 500


def test_to_interaction_keeps_a_client_event_id_and_the_fields():
    tracked = TrackingEvent.model_validate(event(type="product_view", item_id="sku-1", event_id="client-0001"))
    interaction = to_interaction(tracked)
    assert interaction.interaction_id == "client-0001"
    assert interaction.item_id == "sku-1" and interaction.occurred_at == tracked.timestamp


def test_an_event_without_an_id_gets_one_from_what_it_says():
    """Resent after a 503, the same event must be the same interaction; any other event another."""
    same = [to_interaction(TrackingEvent.model_validate(event(item_id="sku-1"))).interaction_id for _ in range(2)]
    assert same[0] == same[1] and same[0].startswith("c-")
    others = {to_interaction(TrackingEvent.model_validate(e)).interaction_id
              for e in (event(item_id="sku-2"), event(item_id="sku-1", timestamp="2026-11-20T10:00:00.001Z"), event(type="page_view"))}
    assert len(others) == 3 and same[0] not in others


def test_interaction_events_carry_the_correlation_id_and_no_personal_data():
    (envelope,) = interaction_events([TrackingEvent.model_validate(event())], correlation_id="req-7")
    assert envelope.metadata.event_name == "InteractionRecorded"
    assert envelope.metadata.correlation_id == "req-7"
    assert envelope.metadata.source == "persona.profiles"
    assert "email" not in envelope.model_dump_json()


def test_purchases_also_become_conversions():
    purchase = TrackingEvent.model_validate(event(type="purchase", customer_id="c-1", value="25.00", currency="EUR", item_id="sku-9"))
    envelopes = interaction_events([purchase, TrackingEvent.model_validate(event())], correlation_id="r")
    assert [e.metadata.event_name for e in envelopes] == ["InteractionRecorded", "ConversionRecorded", "InteractionRecorded"]
    conversion = envelopes[1].data
    assert conversion["interaction_id"] == envelopes[0].data["interaction_id"]
    assert (conversion["value"], conversion["currency"], conversion["customer_id"]) == ("25.00", "EUR", "c-1")


def test_a_resent_event_is_published_with_the_same_event_ids():
    """A batch sent again after a 503 (PutEvents rejected part of it) repeats the same events,
    so consumers that count each event id once do not count it twice."""
    purchase = TrackingEvent.model_validate(event(type="purchase", event_id="evt-12345678", value="5.00", currency="EUR"))
    first, again = (interaction_events([purchase], correlation_id=c) for c in ("r1", "r2"))
    assert [e.metadata.event_id for e in first] == [e.metadata.event_id for e in again]
    assert len({e.metadata.event_id for e in first}) == 2  # the interaction and its conversion stay distinct
    other = interaction_events([TrackingEvent.model_validate(event(event_id="evt-87654321"))], correlation_id="r1")
    assert other[0].metadata.event_id not in {e.metadata.event_id for e in first}


def test_categories_and_brands_only_as_the_published_catalog_names_them():
    from functions.profiles.collection import Vocabulary, known_words
    from shared.catalog import vocabulary_of

    vocabulary = Vocabulary.of(vocabulary_of({"tents", "health"}, {"Stride"}, {"health", "not-a-category"}, datetime.now(UTC)))
    view = TrackingEvent.model_validate(event(type="product_view", item_id="sku-1", category="tents", brand="Stride"))
    assert known_words(view, vocabulary) == (view, [])
    made_up = TrackingEvent.model_validate(event(type="product_view", item_id="sku-1", category="x" * 100, brand="Stride"))
    kept, notes = known_words(made_up, vocabulary)
    assert (kept.category, kept.brand, kept.item_id) == (None, "Stride", "sku-1") and "not in the published catalog" in notes[0]
    assert known_words(made_up, None) == (made_up, [])  # nothing published yet: nothing to check against
    accepted, _, changed = validate_events([event(type="product_view", item_id="sku-1", brand="Nobody")], storefront(), vocabulary)
    assert accepted[0].brand is None and changed[0].index == 0


def test_the_vocabulary_marks_only_categories_the_catalog_has_as_sensitive():
    from shared.catalog import vocabulary_of

    published = vocabulary_of({"tents", "health"}, {"Stride"}, {"health", "not-a-category"}, datetime.now(UTC))
    assert published.sensitive_categories == ["health"] and published.categories == ["health", "tents"]


def _state(subject: str, restricted: bool = False, objections: list | None = None, **effective) -> "ConsentChanged":
    from shared.consent import PURPOSES, ConsentChanged

    return ConsentChanged(subject_id=subject, effective={p: effective.get(p, False) for p in PURPOSES}, restricted=restricted,
                          objections=objections or [], changed_at=datetime.now(UTC))


def test_browsing_is_stored_only_on_its_lawful_basis():
    from functions.profiles.collection import with_consent

    browse = TrackingEvent.model_validate(event(type="product_view", item_id="sku-1"))
    identify = TrackingEvent.model_validate(event(type="identify", customer_id="C-1"))
    backend_purchase = TrackingEvent.model_validate(event(type="purchase", customer_id="C-1", value="5.00", currency="EUR"))
    events = [browse, identify, backend_purchase]
    assert with_consent(events, {}, "consent", "eu") == ([identify, backend_purchase], 1)  # unknown visitor: EU default
    assert with_consent(events, {}, "consent", "opt_out") == (events, 0)
    assert with_consent(events, {ANON: _state(ANON, analytics=True)}, "consent", "eu") == (events, 0)
    assert with_consent(events, {ANON: _state(ANON, personalization=True)}, "consent", "eu") == (events, 0)
    assert with_consent(events, {ANON: _state(ANON, email_marketing=True)}, "consent", "eu")[1] == 1
    # Legitimate interest: stored unless the person restricted processing or objected to profiling.
    assert with_consent(events, {}, "legitimate_interest", "eu") == (events, 0)
    assert with_consent(events, {ANON: _state(ANON, objections=["profiling"])}, "legitimate_interest", "eu")[1] == 1
    assert with_consent(events, {ANON: _state(ANON, restricted=True)}, "legitimate_interest", "eu")[1] == 1


def test_a_customers_own_choice_wins_over_the_visitors():
    from functions.profiles.collection import with_consent

    signed_in = TrackingEvent.model_validate(event(type="product_view", item_id="sku-1", customer_id="C-1"))
    both = {ANON: _state(ANON, analytics=True), "C-1": _state("C-1")}
    assert with_consent([signed_in], both, "consent", "eu")[1] == 1
    assert with_consent([signed_in], {ANON: _state(ANON, analytics=True)}, "consent", "eu")[1] == 0
