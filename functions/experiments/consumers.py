"""Queue consumers of the experiments context (SQS batches with partial failures).

- events: ConsentChanged (projection), IdentityLinked (the visitor's variants carry over
  to the customer), ProfileUpdated (segments for targeting).
- privacy: the experiments context's part of each privacy request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.experiments.settings import ExportsSettings
from functions.experiments.store import experiments_store
from functions.experiments.wiring import publisher
from shared import settings
from shared.aws.s3 import ObjectStore
from shared.consent import ConsentChanged
from shared.consumers import envelope_from_body
from shared.envelope import new_event
from shared.interactions import IdentityLinked, ProfileUpdated
from shared.observability import for_service
from shared.privacy_tasks import PrivacyRequestAccepted, carry_out, completed

obs = for_service("experiments")
logger = obs.logger

_events = BatchProcessor(event_type=EventType.SQS)


def _on_event(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    store, name = experiments_store(), envelope.metadata.event_name
    if name == "ConsentChanged":
        store.set_consent(ConsentChanged.model_validate(envelope.data))
    elif name == "IdentityLinked":
        linked = IdentityLinked.model_validate(envelope.data)
        store.link(linked.anonymous_id, linked.customer_id)
    elif name == "ProfileUpdated":
        updated = ProfileUpdated.model_validate(envelope.data)
        _segments[updated.profile_id] = updated.segments  # written together after the batch
    else:
        raise ValueError(f"unexpected event {name!r}")  # a wiring mistake: let it reach the DLQ


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def events_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _segments.clear()
    response = process_partial_response(event=event, record_handler=_on_event, processor=_events, context=context)
    # A full segment recompute sends one ProfileUpdated per profile: batch-write them. Should this
    # fail, the whole batch is redelivered; every change here is idempotent.
    experiments_store().set_segments_of(_segments)
    return response


_segments: dict[str, list[str]] = {}


_privacy = BatchProcessor(event_type=EventType.SQS)


def _act_on_request(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    accepted = PrivacyRequestAccepted.model_validate(envelope.data)
    store = experiments_store()
    subject_ids = accepted.covered(store.identifiers)
    exports = ObjectStore(settings.load(ExportsSettings).exports_bucket_name)
    outcome = carry_out(accepted, "experiments", export=lambda: store.subject_export(subject_ids),
                        erase=lambda: store.erase(subject_ids),
                        put=lambda key, body: exports.put(key, body, content_type="application/json"))
    done = completed(accepted, "experiments", outcome, datetime.now(UTC))
    publisher().publish([new_event("PrivacyTaskCompleted", done, context="experiments", correlation_id=envelope.metadata.correlation_id)])
    logger.info("privacy task done", extra={"request_id": accepted.request_id, "action": done.action, "records": done.records})


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def privacy_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The experiments context's part of each privacy request."""
    return process_partial_response(event=event, record_handler=_act_on_request, processor=_privacy, context=context)
