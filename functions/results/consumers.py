"""Queue consumers of the results context (SQS batches with partial failures).

- aggregation: ExposureLogged (a unit enters a cell), ConversionRecorded (orders and
  revenue of exposed units within the attribution window), InteractionRecorded
  (engagement and returns; every unit's first visit also enters the program's
  holdout-vs-program accounting), ExperimentChanged (definitions), IdentityLinked
  (which anonymous ids a customer had, for privacy requests), ProfileUpdated (segments,
  for the program's traffic per segment).
- privacy: the results context's part of each privacy request.

Every event is applied once: a marker per (event, experiment) is written in the same
transaction as the counters, so duplicate or replayed deliveries never double count; a
batch's changes are written together, each cell once per transaction (batching.py). Delivery
order is not kept (SQS; an exposure dead-lettered and redriven days later): conversions are
kept per unit for 30 days, and an exposure that arrives after its unit's conversions counts
them then, with their own markers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.results import aggregation
from functions.results.aggregation import ALL, Conversion, UnitOutcome
from functions.results.batching import BatchPlan
from functions.results.settings import BusSettings, ExportsSettings, ProgramSettings
from functions.results.store import results_store
from shared import settings
from shared.aws.events import EventPublisher
from shared.aws.s3 import ObjectStore
from shared.bucketing import in_global_holdout
from shared.consumers import envelope_from_body
from shared.envelope import new_event
from shared.exposures import ExperimentChanged, ExposureLogged
from shared.interactions import ConversionRecorded, IdentityLinked, InteractionRecorded, ProfileUpdated
from shared.observability import for_service
from shared.privacy_tasks import PrivacyRequestAccepted, carry_out, completed

obs = for_service("results")
logger = obs.logger

PROGRAM = "_program"  # the program's KPIs: every visitor, holdout or not
PROGRAM_WINDOW = timedelta(days=30)
DEFAULT_WINDOW = timedelta(days=7)

_aggregation = BatchProcessor(event_type=EventType.SQS)
_plan: BatchPlan | None = None  # the batch being planned (one at a time per container)
_windows: dict[str, timedelta] = {}


def _window(experiment: str) -> timedelta:
    if experiment == PROGRAM:
        return PROGRAM_WINDOW
    if experiment not in _windows:
        definition = results_store().definition(experiment)
        _windows[experiment] = timedelta(days=definition.attribution_days) if definition else DEFAULT_WINDOW
    return _windows[experiment]


def _exposed(plan: BatchPlan, message_id: str, event_id: str, exposure: ExposureLogged) -> None:
    unit, experiment = exposure.unit_id, exposure.experiment
    known = plan.outcomes([unit])
    if (unit, experiment) in known:
        return  # one exposure per unit and experiment
    # Conversions that overtook this exposure (delivered first) count now, each once (its own marker).
    late = aggregation.late_conversions(plan.conversions(unit), exposure.exposed_at, _window(experiment))
    # CUPED's covariate: what the unit spent before this exposure (program accounting since its first
    # visit), without the overtaking conversions the program accounting has counted already.
    prior = known.get((unit, PROGRAM))
    covariate = max(Decimal(0), prior.revenue - sum((c.value for c in late if aggregation.attributable(prior, c.occurred_at, PROGRAM_WINDOW)),
                                                    Decimal(0))) if prior else Decimal(0)
    outcome = UnitOutcome(variant=exposure.variant, exposed_at=exposure.exposed_at, cells=tuple(aggregation.cells_of(exposure)),
                          covariate=covariate)
    plan.change(message_id, event_id, unit, experiment, None, outcome, aggregation.exposure_deltas(covariate))
    for conversion in late:
        new, deltas = aggregation.conversion(outcome, conversion.value)
        plan.change(message_id, conversion.event_id, unit, experiment, outcome, new, deltas)
        outcome = new


def _program_entry(plan: BatchPlan, message_id: str, event_id: str, unit: str, at: datetime, outcomes: dict) -> dict:
    """A unit's first visit puts it in the program's accounting: holdout or program."""
    if (unit, PROGRAM) in outcomes:
        return outcomes
    group = "holdout" if in_global_holdout(unit, settings.load(ProgramSettings).global_holdout_share) else "program"
    # Per-segment cells give the backlog each segment's daily traffic.
    cells = (ALL, *(aggregation.cell_key(segment=s) for s in sorted(set(results_store().segments(unit)))))
    outcome = UnitOutcome(variant=group, exposed_at=at, cells=cells)
    plan.change(message_id, event_id, unit, PROGRAM, None, outcome, aggregation.exposure_deltas())
    return {**outcomes, (unit, PROGRAM): outcome}


def _converted(plan: BatchPlan, message_id: str, event_id: str, conversion: ConversionRecorded) -> None:
    unit = conversion.customer_id or conversion.anonymous_id
    received = Conversion(event_id=event_id, occurred_at=conversion.occurred_at, value=Decimal(conversion.value))
    for owner in {unit, conversion.anonymous_id} - {None}:
        plan.receive(owner, received)  # for an exposure of either id that arrives later
    outcomes = _program_entry(plan, message_id, event_id + "#entry", unit, conversion.occurred_at,
                              plan.outcomes([unit, conversion.anonymous_id]))
    for (owner, experiment), outcome in outcomes.items():
        if aggregation.attributable(outcome, conversion.occurred_at, _window(experiment)):
            new, deltas = aggregation.conversion(outcome, Decimal(conversion.value))
            plan.change(message_id, event_id, owner, experiment, outcome, new, deltas)


def _interacted(plan: BatchPlan, message_id: str, event_id: str, seen: InteractionRecorded) -> None:
    unit = seen.customer_id or seen.anonymous_id
    if seen.type == "purchase" or not unit:
        return  # a purchase's ConversionRecorded carries the order
    outcomes = _program_entry(plan, message_id, event_id + "#entry", unit, seen.occurred_at,
                              plan.outcomes([unit, seen.anonymous_id]))
    from_recommendation = seen.type == "product_view" and seen.context.traffic_source == aggregation.RECOMMENDATION_SOURCE
    for (owner, experiment), outcome in outcomes.items():
        if seen.occurred_at < outcome.exposed_at:
            continue
        new, deltas = aggregation.interaction(outcome, seen.occurred_at, _window(experiment), from_recommendation=from_recommendation)
        if deltas:
            plan.change(message_id, event_id, owner, experiment, outcome, new, deltas)


def _aggregate(record: SQSRecord) -> None:
    """Plan one record's changes (written for the whole batch in aggregation_handler)."""
    envelope = envelope_from_body(record.body)
    name, event_id, plan = envelope.metadata.event_name, envelope.metadata.event_id, _plan
    if name == "ExposureLogged":
        _exposed(plan, record.message_id, event_id, ExposureLogged.model_validate(envelope.data))
    elif name == "ConversionRecorded":
        _converted(plan, record.message_id, event_id, ConversionRecorded.model_validate(envelope.data))
    elif name == "InteractionRecorded":
        _interacted(plan, record.message_id, event_id, InteractionRecorded.model_validate(envelope.data))
    elif name == "ExperimentChanged":
        results_store().set_definition(ExperimentChanged.model_validate(envelope.data))
        _windows.pop(envelope.data["key"], None)
    elif name == "IdentityLinked":
        linked = IdentityLinked.model_validate(envelope.data)
        results_store().links.link(linked.anonymous_id, linked.customer_id)
    elif name == "ProfileUpdated":
        updated = ProfileUpdated.model_validate(envelope.data)
        plan.segments[updated.profile_id] = updated.segments
    else:
        raise ValueError(f"unexpected event {name!r}")  # a wiring mistake: let it reach the DLQ


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def aggregation_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Plan every record (Powertools reports the ones that cannot be read), then write the
    batch's changes together (batching.py); messages whose writes failed are reported too."""
    global _plan
    _plan = BatchPlan(results_store())
    _windows.clear()  # definitions may have changed since the last batch
    with _aggregation(records=event["Records"], handler=_aggregate, lambda_context=context):
        _aggregation.process()
    now = datetime.now(UTC)
    if _plan.changes:
        results_store().mark_program_started(min(c.new.exposed_at for c in _plan.changes))
    results_store().set_segments_of(_plan.segments)  # a full recompute sends one per profile: batch-write them
    results_store().record_conversions(_plan.received, now)  # before the counters: a retry finds them either way
    failed = _plan.flush(now)
    response = _aggregation.response()
    reported = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    response["batchItemFailures"] += [{"itemIdentifier": m} for m in sorted(failed - reported)]
    logger.info("aggregated", extra={"records": len(event["Records"]), "changes": len(_plan.changes), "failed": len(failed)})
    return response


_privacy = BatchProcessor(event_type=EventType.SQS)


def _act_on_request(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    accepted = PrivacyRequestAccepted.model_validate(envelope.data)
    store = results_store()
    subject_ids = accepted.covered(store.links.identifiers)
    exports = ObjectStore(settings.load(ExportsSettings).exports_bucket_name)
    outcome = carry_out(accepted, "results", export=lambda: store.subject_export(subject_ids),
                        erase=lambda: store.erase(subject_ids),
                        put=lambda key, body: exports.put(key, body, content_type="application/json"))
    done = completed(accepted, "results", outcome, datetime.now(UTC))
    EventPublisher(settings.load(BusSettings).event_bus_name).publish(
        [new_event("PrivacyTaskCompleted", done, context="results", correlation_id=envelope.metadata.correlation_id)])
    logger.info("privacy task done", extra={"request_id": accepted.request_id, "action": done.action, "records": done.records})


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def privacy_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The results context's part of each privacy request."""
    return process_partial_response(event=event, record_handler=_act_on_request, processor=_privacy, context=context)


# ---------------------------------------------------------------- daily history
def _snapshot_running(day: str) -> int:
    """Keep today's whole-experiment counters of every running experiment, so trends can be charted."""
    store, taken = results_store(), 0
    for definition in store.definitions():
        if definition.status == "running":
            store.snapshot(definition.key, day, [i for i in store.cells(definition.key) if i["sk"].startswith(ALL + "#")])
            taken += 1
    return taken


@logger.inject_lambda_context
def history_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Daily: one snapshot per running experiment (re-running on the same day replaces it)."""
    taken = _snapshot_running(datetime.now(UTC).date().isoformat())
    logger.info("results snapshot", extra={"experiments": taken})
    return {"snapshots": taken}
