"""Queue consumers of the recommend context (SQS batches with partial failures).

- events: InteractionRecorded (history, kept only with personalization consent),
  IdentityLinked (a visitor's history moves to the customer), ConsentChanged (projection).
- privacy: the recommend context's part of each privacy request.
- catalog changes: a catalog or rules published into the models bucket (S3 notification) ->
  CatalogPublished, the vocabulary other contexts check storefront text against.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event, SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.interactions import IdentityLinked, InteractionRecorded
from functions.recommend.publishing import CATALOG_KEY, RULES_KEY, forget_in_models, models_containing
from functions.recommend.rules import RecommendRules
from functions.recommend.schemas import Catalog, ConsentState, HistoryEntry
from functions.recommend.consent import fallback_reason
from functions.recommend.settings import BusSettings, ConsentPolicySettings, ExportsSettings, ModelsSettings
from functions.recommend.store import recommend_store
from shared import settings
from shared.aws.events import EventPublisher
from shared.aws.s3 import ObjectStore
from shared.catalog import EVENT as CATALOG_PUBLISHED
from shared.catalog import vocabulary_of
from shared.consent import ConsentChanged
from shared.consumers import envelope_from_body
from shared.envelope import new_event
from shared.observability import for_service
from shared.privacy_tasks import PrivacyRequestAccepted, carry_out, completed

obs = for_service("recommend")
logger = obs.logger

_KEPT_TYPES = frozenset(HistoryEntry.model_fields["type"].annotation.__args__)


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- events
_events = BatchProcessor(event_type=EventType.SQS)


def _record_interaction(interaction: InteractionRecorded) -> None:
    if interaction.type not in _KEPT_TYPES or not interaction.item_id:
        return
    store = recommend_store()
    subject = interaction.customer_id or store.resolve(interaction.anonymous_id) or interaction.anonymous_id
    consents = store.consents([s for s in (subject, interaction.anonymous_id) if s])
    state = consents.get(subject) or consents.get(interaction.anonymous_id or "")
    if fallback_reason(state, False, settings.load(ConsentPolicySettings).consent_default_policy) is not None:
        return  # no personalization consent: nothing is kept for it
    entry = HistoryEntry(item_id=interaction.item_id, type=interaction.type, at=interaction.occurred_at.astimezone(UTC),
                         interaction_id=interaction.interaction_id)
    store.add_history(subject, [entry])


def _apply_consent(changed: ConsentChanged) -> None:
    store = recommend_store()
    state = ConsentState(personalization=changed.effective["personalization"], email_marketing=changed.effective["email_marketing"],
                         restricted=changed.restricted, objections=list(changed.objections), changed_at=changed.changed_at)
    if not store.set_consent(changed.subject_id, state):
        return  # an older change delivered late
    withdrawn = not state.personalization and not state.restricted
    if withdrawn:
        # Withdrawn consent or an objection ends the purpose: the history kept for it goes.
        # A restriction (Art. 18) keeps the data stored, unused, until it is lifted.
        removed = store.erase_history({changed.subject_id})
        logger.info("history removed after consent withdrawal", extra={"records": removed})


def _on_event(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    logger.set_correlation_id(envelope.metadata.correlation_id)
    name = envelope.metadata.event_name
    if name == "InteractionRecorded":
        _record_interaction(InteractionRecorded.model_validate(envelope.data))
    elif name == "IdentityLinked":
        linked = IdentityLinked.model_validate(envelope.data)
        recommend_store().link(linked.anonymous_id, linked.customer_id)
    elif name == "ConsentChanged":
        _apply_consent(ConsentChanged.model_validate(envelope.data))
    else:
        raise ValueError(f"unexpected event {name!r}")  # a wiring mistake: let it reach the DLQ


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def events_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_on_event, processor=_events, context=context)


# ---------------------------------------------------------------- privacy requests
_privacy = BatchProcessor(event_type=EventType.SQS)


def _act_on_request(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    accepted = PrivacyRequestAccepted.model_validate(envelope.data)
    store, now = recommend_store(), _now()
    models = ObjectStore(settings.load(ModelsSettings).models_bucket_name)
    subject_ids = accepted.covered(store.identifiers)

    def export() -> dict[str, list[dict]]:
        tables = store.subject_export(subject_ids)
        trained_on = models_containing(models, subject_ids)
        if trained_on:
            tables["models_trained_on_your_data"] = [{"model_version": v} for v in trained_on]
        return tables

    def erase() -> int:
        marked = forget_in_models(models, subject_ids, accepted.request_id, now)
        if marked:
            logger.info("models marked for retraining", extra={"request_id": accepted.request_id, "versions": marked})
        return store.erase(subject_ids) + len(marked)

    exports = ObjectStore(settings.load(ExportsSettings).exports_bucket_name)
    outcome = carry_out(accepted, "recommend", export=export, erase=erase,
                        put=lambda key, body: exports.put(key, body, content_type="application/json"))
    done = completed(accepted, "recommend", outcome, now)
    publisher = EventPublisher(settings.load(BusSettings).event_bus_name)
    publisher.publish([new_event("PrivacyTaskCompleted", done, context="recommend", correlation_id=envelope.metadata.correlation_id)])
    logger.info("privacy task done", extra={"request_id": accepted.request_id, "action": done.action, "records": done.records})


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def privacy_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The recommend context's part of each privacy request."""
    return process_partial_response(event=event, record_handler=_act_on_request, processor=_privacy, context=context)


# ---------------------------------------------------------------- catalog changes
_catalog = BatchProcessor(event_type=EventType.SQS)


def publish_vocabulary(models: ObjectStore, correlation_id: str) -> bool:
    """CatalogPublished from what the models bucket holds now; False while no catalog is published."""
    raw_catalog, raw_rules = models.read(CATALOG_KEY), models.read(RULES_KEY)
    if raw_catalog is None:
        return False
    catalog = Catalog.model_validate_json(raw_catalog)
    rules = RecommendRules.model_validate_json(raw_rules) if raw_rules else RecommendRules()
    vocabulary = vocabulary_of({i.category for i in catalog.items}, {i.brand for i in catalog.items},
                               set(rules.guard.sensitive_categories), _now())
    EventPublisher(settings.load(BusSettings).event_bus_name).publish(
        [new_event(CATALOG_PUBLISHED, vocabulary, context="recommend", correlation_id=correlation_id)])
    logger.info("catalog vocabulary published", extra={"categories": len(vocabulary.categories), "brands": len(vocabulary.brands)})
    return True


def _on_catalog_change(record: SQSRecord) -> None:
    notification = record.json_body
    if notification.get("Event") == "s3:TestEvent":  # sent once when the notification is configured
        return
    for s3_record in S3Event(notification).records:  # each publish reads what is there now: order does not matter
        publish_vocabulary(ObjectStore(s3_record.s3.bucket.name), correlation_id=record.message_id)


@logger.inject_lambda_context
def catalog_changes_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_on_catalog_change, processor=_catalog, context=context)
