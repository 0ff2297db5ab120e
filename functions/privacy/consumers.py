"""Queue consumers and the schedule of the privacy context."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.privacy.schemas import ConsentSignal
from functions.privacy.wiring import exports, privacy
from shared import contacts
from shared.consumers import envelope_from_body
from shared.observability import for_service
from shared.privacy_tasks import PrivacyRequestAccepted, PrivacyTaskCompleted

obs = for_service("privacy")
logger = obs.logger


def _now() -> datetime:
    return datetime.now(UTC)


_orchestration = BatchProcessor(event_type=EventType.SQS)


def _orchestrate(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    service = privacy(envelope.metadata.correlation_id)
    if envelope.metadata.event_name == "PrivacyTaskCompleted":
        done = PrivacyTaskCompleted.model_validate(envelope.data)
        request = service.task_completed(done, _now(), exports())
        logger.info("privacy task answered", extra={"request_id": done.request_id, "context": done.context,
                                                    "status": request.status if request else "unknown_request"})
    elif envelope.metadata.event_name == "ConsentReported":
        service.consent_signal(ConsentSignal.model_validate(envelope.data))
    elif envelope.metadata.event_name == "IdentityLinked":
        service.identity_linked(envelope.data["anonymous_id"], envelope.data["customer_id"], _now())
    else:
        raise ValueError(f"unexpected event {envelope.metadata.event_name}")


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def orchestrator_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Task answers complete requests; consent seen in CRM imports and unsubscribes becomes consent records;
    a visitor's choices carry over to the customer they turn out to be."""
    return process_partial_response(event=event, record_handler=_orchestrate, processor=_orchestration, context=context)


_contacts = BatchProcessor(event_type=EventType.SQS)


def _record_contacts(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    report = contacts.ContactsOnFile.model_validate(envelope.data)
    written = privacy(envelope.metadata.correlation_id).contacts_reported(report, _now())
    logger.info("contacts on file recorded", extra={"reported": len(report.contacts), "written": written})


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def contacts_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The customers profiles holds and their e-mail fingerprints: who may confirm a privacy request."""
    return process_partial_response(event=event, record_handler=_record_contacts, processor=_contacts, context=context)


_tasks = BatchProcessor(event_type=EventType.SQS)


def _act(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    accepted = PrivacyRequestAccepted.model_validate(envelope.data)
    service = privacy(envelope.metadata.correlation_id)
    done = service.act_on_own_data(accepted, _now(), exports())
    service.answer(done)
    logger.info("privacy task done", extra={"request_id": accepted.request_id, "action": done.action, "records": done.records})


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def worker_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The privacy context's own part of each request: consents, history, earlier exports."""
    return process_partial_response(event=event, record_handler=_act, processor=_tasks, context=context)


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
@obs.metrics.log_metrics
def sweeper_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Scheduled: re-publish unanswered tasks, flag requests at risk or overdue."""
    summary = privacy(event.get("id", context.aws_request_id)).sweep(_now(), exports())
    logger.info("privacy requests swept", extra=summary)
    # PrivacyRequestsOverdue has an alarm (infra/constructs/alarms.py): a missed legal deadline must reach someone.
    obs.metrics.add_metric(name="PrivacyRequestsOverdue", unit="Count", value=summary["overdue"])
    obs.metrics.add_metric(name="PrivacyRequestsAtRisk", unit="Count", value=summary["at_risk"])
    return summary
