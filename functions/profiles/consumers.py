"""Queue consumers of the profiles context (SQS batches with partial failures)."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event, SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pydantic import ValidationError

from functions.profiles import consent_signals, imports, segmentation, subject_rights
from functions.profiles.crm_import import pipeline
from functions.profiles.crm_import.mapping import ColumnMapping
from functions.profiles.crm_import.pipeline import Chunk, ImportFailed, QuarantinedRow
from functions.profiles.schemas import IdentityLinked, ImportReport, InteractionRecorded, ProfileUpdated
from functions.profiles.settings import (
    BusSettings,
    ContactKeySettings,
    ExportsSettings,
    KeySettings,
    ProcessingSettings,
    QuarantineSettings,
)
from functions.profiles.store import profile_store
from shared import contacts, settings
from shared.aws.events import EventPublisher
from shared.aws.s3 import ObjectStore
from shared.aws.secrets import secret_value
from shared.catalog import DEFAULT_SENSITIVE_CATEGORIES, CatalogPublished
from shared.consent import ConsentChanged
from shared.consumers import envelope_from_body
from shared.envelope import new_event
from shared.observability import for_service
from shared.privacy_tasks import EXPORTING, PrivacyRequestAccepted, PrivacyTaskCompleted, part_key
from shared.pseudonyms import pseudonym

obs = for_service("profiles")
logger = obs.logger


_interactions = BatchProcessor(event_type=EventType.SQS)


def _count_interaction(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    correlation_id = envelope.metadata.correlation_id
    logger.set_correlation_id(correlation_id)
    interaction = InteractionRecorded.model_validate(envelope.data)
    store, now = profile_store(), _now()
    anonymous_id, customer_id = interaction.anonymous_id, interaction.customer_id
    # A redelivered message may have written (linked, counted) and then failed to publish what
    # follows: it publishes again, as does any identify. Consumers of both events are idempotent.
    redelivered = int(record.attributes.approximate_receive_count or 1) > 1
    if interaction.type == "identify" and anonymous_id and customer_id:
        # Only identify links, and the collection API admitted it only with the customer's session or from the
        # backend (shared/trust.py): another event naming both ids links nothing.
        store.link(anonymous_id, customer_id, now)
        linked = IdentityLinked(anonymous_id=anonymous_id, customer_id=store.resolve(anonymous_id), linked_at=now)
        _publisher().publish([new_event("IdentityLinked", linked, context="profiles", correlation_id=correlation_id)])
    profile_id = customer_id or store.resolve(anonymous_id)
    counted = store.count_interaction(interaction, profile_id, now)
    if counted:
        _touched.add(profile_id)
    else:
        logger.info("duplicate interaction ignored", extra={"interaction_id": interaction.interaction_id})
    signal = consent_signals.from_interaction(interaction, profile_id) if counted or redelivered else None
    if signal:
        _publisher().publish([new_event("ConsentReported", signal, context="profiles", correlation_id=correlation_id)])


_touched: set[str] = set()  # profiles whose interactions changed in the current batch


def _update_segments(profile_ids: set[str], correlation_id: str) -> None:
    """Behaviour segments move with each interaction: re-segment the profiles a batch touched,
    against the base of the last full recompute (none yet: the hourly run will)."""
    store = profile_store()
    base = store.segment_base()
    if base is None:
        return
    now, policy = _now(), _segment_policy(store)
    changes = []
    for profile_id in sorted(profile_ids):
        _, record, change = segmentation.segment_one(profile_id, store.profile_inputs(profile_id), base, base.at(now), None,
                                                     policy=policy)
        if record:
            store.save_segment_record(record, now)
        if change:
            changes.append(new_event("ProfileUpdated", ProfileUpdated(profile_id=change.profile_id, added=change.added,
                                     removed=change.removed, segments=change.labels), context="profiles", correlation_id=correlation_id))
    _publisher().publish(changes)


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def interactions_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _touched.clear()
    response = process_partial_response(
        event=event, record_handler=_count_interaction, processor=_interactions, context=context
    )
    try:
        _update_segments(set(_touched), correlation_id=context.aws_request_id)
    except Exception:  # counts are stored; the hourly recompute catches up, so the batch does not fail
        logger.exception("segment update failed", extra={"profiles": len(_touched)})
    return response


_drops = BatchProcessor(event_type=EventType.SQS)


def _load_mapping(store: ObjectStore, key: str, kind: str) -> ColumnMapping:
    """The mapping file dropped next to the export, else the source's registered mapping, else the defaults."""
    if store.head(imports.mapping_key(key)) is None:
        return profile_store().mapping(kind, imports.source_of(key)) or ColumnMapping()
    text = store.open(imports.mapping_key(key)).read()
    try:
        return ColumnMapping.model_validate_json(text)
    except ValidationError as exc:
        raise ImportFailed(f"{imports.mapping_key(key)} is not a valid mapping: {exc.errors(include_url=False)[0]['msg']}") from exc


def _import(report: ImportReport) -> ImportReport:
    """Run the export through the pipeline; always returns a finished report."""
    store = profile_store()
    drop = ObjectStore(report.bucket)
    if report.kind is None:
        return imports.failed(report, "put exports under customers/, orders/ or campaign/ (e.g. orders/2026-11.csv)", _now())
    report = imports.running(report, _now())
    store.save_import(report)
    source, at = f"crm:{report.key}", report.started_at.isoformat()
    # An attempt that broke off (a read error mid-stream, a timeout) merged some chunks: they are
    # skipped, so their rows count as accepted, not as duplicates of themselves.
    done = store.import_progress(report.import_id)
    written, already_stored, chunks = done.profiles_written, done.already_stored, 0

    def on_chunk(chunk: Chunk) -> None:
        nonlocal written, already_stored, chunks
        chunks += 1
        if chunks <= done.chunks:
            return  # merged, and its consent signals published, by the earlier attempt
        profiles, duplicates, emails = store.merge_chunk(chunk, source=source, at=at)
        written += profiles
        already_stored += duplicates  # rows the pipeline accepted that earlier files had brought
        signals = consent_signals.from_chunk(chunk.kind, chunk.profiles, at)
        _publisher().publish([new_event("ConsentReported", s, context="profiles", correlation_id=report.import_id) for s in signals])
        _report_contacts(emails, report.import_id)
        store.save_import_progress(report.import_id, imports.Progress(chunks, written, already_stored), _now())

    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b") as quarantine:
        def on_quarantine(row: QuarantinedRow) -> None:
            quarantine.write(json.dumps({"row": row.row, "raw": row.raw, "reasons": row.reasons}).encode() + b"\n")

        try:
            mapping = _load_mapping(drop, report.key, report.kind)
            tally, unmapped = pipeline.run(report.kind, drop.open(report.key), mapping, on_chunk=on_chunk,
                                           on_quarantine=on_quarantine, is_suppressed=_suppression_check())
        except ImportFailed as exc:
            return imports.failed(report, str(exc), _now())
        tally.add_duplicates(already_stored)
        quarantine_key = None
        if tally.quarantined:
            quarantine.seek(0)
            quarantine_key = f"{report.import_id}.jsonl"
            ObjectStore(settings.load(QuarantineSettings).quarantine_bucket_name).put(quarantine_key, quarantine, content_type="application/x-ndjson")
    return imports.completed(report, tally, unmapped=unmapped, profiles_written=written, quarantine_key=quarantine_key, at=_now())


def _now() -> datetime:
    return datetime.now(UTC)


def _key() -> str:
    return secret_value(settings.load(KeySettings).profiles_keys_secret_name)


def _report_contacts(emails: dict[str, str | None], correlation_id: str) -> None:
    """Tell the privacy context whom it holds and the fingerprint of each one's e-mail (see shared/contacts.py)."""
    if not emails:
        return
    key = secret_value(settings.load(ContactKeySettings).contact_keys_secret_name)
    _publisher().publish([new_event(contacts.EVENT, r, context="profiles", correlation_id=correlation_id)
                          for r in contacts.reports(emails, key, _now())])


def _suppression_check():
    """A row check against the suppression list of erased people (None when it is empty)."""
    suppressed = profile_store().suppression_list()
    if not suppressed:
        return None
    key = _key()

    def is_suppressed(record: dict[str, str]) -> bool:
        return any(record.get(f) and pseudonym(record[f], key) in suppressed for f in ("customer_id", "email", "phone"))

    return is_suppressed


def _register_drop(record: SQSRecord) -> None:
    notification = record.json_body
    if notification.get("Event") == "s3:TestEvent":  # sent once when the notification is configured
        return
    for s3_record in S3Event(notification).records:
        # Keys arrive URL-encoded in S3 notifications (crm%2Forders.csv).
        bucket, key = s3_record.s3.bucket.name, unquote_plus(s3_record.s3.get_object.key)
        if imports.is_mapping_file(key):
            continue  # read when its export arrives
        head = ObjectStore(bucket).head(key)  # the notification's size/etag may be stale
        if head is None:  # deleted before we got to it: nothing to import
            logger.warning("dropped object vanished before import", extra={"bucket": bucket, "key": key})
            continue
        report = imports.received(bucket, key, head["ContentLength"], head["ETag"], _now())
        store = profile_store()
        if not store.register_import(report):
            existing = store.get_import(report.import_id)
            if existing is not None and existing.status in imports.FINISHED:
                logger.info("import already done", extra={"import_id": report.import_id, "status": existing.status})
                continue
            # Received or interrupted while running: importing again is safe (merges are idempotent).
        report = _import(report)
        store.save_import(report)
        if report.status == "completed":
            # Data minimisation: the rows now live in profiles (and the quarantine); the
            # export itself is not kept. A re-drop of the same file is still recognised by its id.
            ObjectStore(bucket).delete(key)
        _publisher().publish([new_event("CrmImportCompleted", _completion(report), context="profiles", correlation_id=report.import_id)])
        # ImportsFailed has an alarm (infra/constructs/alarms.py): a failed export must reach someone.
        obs.metrics.add_metric(name="ImportsFailed" if report.status == "failed" else "ImportsCompleted", unit="Count", value=1)
        logger.info("import finished", extra={"import_id": report.import_id, "status": report.status, "rows_read": report.rows_read, "accepted": report.accepted,
                                              "duplicates": report.duplicates, "quarantined": report.quarantined})


def _completion(report: ImportReport) -> dict:
    """The event carries counts only: no personal data leaves the context."""
    return report.model_dump(mode="json", include={
        "import_id", "status", "kind", "key", "rows_read", "accepted", "duplicates", "quarantined", "profiles_written", "failure_reason",
    })


def _segment_policy(store) -> segmentation.SegmentPolicy:
    """Sensitive categories (the published catalog's; the defaults before one is published) and the lawful basis
    of behaviour segments."""
    vocabulary = store.vocabulary()
    processing = settings.load(ProcessingSettings)
    return segmentation.SegmentPolicy(frozenset(vocabulary.sensitive_categories if vocabulary else DEFAULT_SENSITIVE_CATEGORIES),
                                      processing.behaviour_segments_basis, processing.consent_default_policy)


def recompute_segments(correlation_id: str) -> dict[str, int]:
    """Segments and quality of every profile; ProfileUpdated for each membership change."""
    store, now = profile_store(), _now()
    outcome = segmentation.recompute(store.segmentation_inputs(), now, policy=_segment_policy(store))
    store.save_segments(outcome, now)
    _publisher().publish([
        new_event("ProfileUpdated", ProfileUpdated(profile_id=c.profile_id, added=c.added, removed=c.removed, segments=c.labels),
                  context="profiles", correlation_id=correlation_id)
        for c in outcome.changes
    ])
    summary = {"profiles": outcome.profiles, "written": len(outcome.records), "changed": len(outcome.changes)}
    logger.info("segments recomputed", extra={**summary, "as_of": outcome.base.as_of.isoformat()})
    return summary


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def segments_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Hourly (recency moves with time) and after imports (a queue batch: one recompute for all)."""
    if "Records" in event:
        recompute_segments(correlation_id=context.aws_request_id)
        return {"batchItemFailures": []}
    return recompute_segments(correlation_id=event.get("id", context.aws_request_id))


@settings.per_container
def _publisher() -> EventPublisher:
    return EventPublisher(settings.load(BusSettings).event_bus_name)


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
@obs.metrics.log_metrics
def crm_drop_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_register_drop, processor=_drops, context=context)


# ---------------------------------------------------------------- privacy requests
_privacy = BatchProcessor(event_type=EventType.SQS)


def _scrub_quarantine(identifiers: set[str]) -> int:
    """Remove the person's rejected rows from quarantine objects; returns how many went."""
    store = ObjectStore(settings.load(QuarantineSettings).quarantine_bucket_name)
    removed = 0
    for key in store.keys():
        with store.open(key) as body:
            lines = body.read().splitlines()
        kept = subject_rights.without_identifiers(lines, identifiers)
        if len(kept) < len(lines):
            removed += len(lines) - len(kept)
            if kept:
                store.put(key, b"\n".join(kept) + b"\n", content_type="application/x-ndjson")
            else:
                store.delete(key)
    return removed


def _apply_consent(changed: ConsentChanged, correlation_id: str) -> None:
    """Restriction or an objection to profiling stops segmenting the person (the data stays);
    lifting it brings the segments back. Either way the profile is re-segmented now."""
    stopped = changed.restricted or "profiling" in changed.objections
    store = profile_store()
    store.save_consent(changed)  # what the collection API stores and segments may use (consent at the door)
    profile_id = store.resolve(changed.subject_id)
    if stopped == store.profiling_stopped(profile_id):
        return
    store.set_profiling_stopped(profile_id, stopped)
    _update_segments({profile_id}, correlation_id)


def _corrections(accepted: PrivacyRequestAccepted) -> dict[str, str] | None:
    """The corrected values the privacy context left in the exports bucket (never in the event); None when
    they are gone: a late duplicate of a request already completed, or one left a week in the queue."""
    if not accepted.corrections_key:
        return {}
    body = ObjectStore(settings.load(ExportsSettings).exports_bucket_name).read(accepted.corrections_key)
    return None if body is None else json.loads(body)


def _act_on_request(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    if envelope.metadata.event_name == "ConsentChanged":  # queued here before ConsentChanged got its own queue
        _apply_consent(ConsentChanged.model_validate(envelope.data), envelope.metadata.correlation_id)
        return
    accepted = PrivacyRequestAccepted.model_validate(envelope.data)
    store, now = profile_store(), _now()
    covered = accepted.covered(store.identifiers)
    action, records, key = "nothing_held", 0, None
    if accepted.type in EXPORTING:
        tables = store.subject_export(accepted.subject_id, covered)
        key = part_key(accepted.request_id, "profiles")
        ObjectStore(settings.load(ExportsSettings).exports_bucket_name).put(key, json.dumps(tables).encode(), content_type="application/json")
        action, records = ("exported" if tables else "nothing_held"), sum(len(rows) for rows in tables.values())
    elif accepted.type == "erasure":
        deleted, identifiers, on_record = store.erase_subject(accepted.subject_id, covered)
        records = deleted + _scrub_quarantine(identifiers)
        if on_record:  # Only what the person's own stored data says goes on the suppression list: an erasure filed
            secret = _key()  # for an id nobody holds must not keep a future customer of that id out of every import.
            store.suppress({pseudonym(i, secret) for i in on_record}, now)
        action = "erased" if records else "nothing_held"
    elif accepted.type == "rectification" and (wanted := _corrections(accepted)) is None:
        logger.warning("corrections unavailable", extra={"request_id": accepted.request_id})
        action = "corrections_unavailable"  # shown in the request's tasks and audit trail
    elif accepted.type == "rectification":
        corrections, rejected = subject_rights.valid_corrections(wanted)
        if rejected:
            logger.info("corrections rejected", extra={"request_id": accepted.request_id, "attributes": rejected})
        profile_id, records = store.rectify(accepted.subject_id, corrections, now.isoformat(), covered)
        action = "rectified" if records else "nothing_changed"
        if records and "email" in corrections:  # confirmation links go to the corrected address from now on
            _report_contacts({profile_id: corrections["email"]}, envelope.metadata.correlation_id)
    else:  # restriction, objection: profiles keep the data; the ConsentChanged that follows stops profiling
        action = "noted"
    done = PrivacyTaskCompleted(request_id=accepted.request_id, context="profiles", type=accepted.type, action=action,
                                records=records, part_key=key, completed_at=now)
    _publisher().publish([new_event("PrivacyTaskCompleted", done, context="profiles", correlation_id=envelope.metadata.correlation_id)])
    logger.info("privacy task done", extra={"request_id": accepted.request_id, "action": action, "records": records})


_consents = BatchProcessor(event_type=EventType.SQS)


def _on_consent(record: SQSRecord) -> None:
    envelope = envelope_from_body(record.body)
    _apply_consent(ConsentChanged.model_validate(envelope.data), envelope.metadata.correlation_id)


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def consent_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """ConsentChanged: the projection the collection API checks, and limits on profiling."""
    return process_partial_response(event=event, record_handler=_on_consent, processor=_consents, context=context)


@logger.inject_lambda_context
@obs.tracer.capture_lambda_handler
def privacy_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The profiles context's part of each privacy request."""
    return process_partial_response(event=event, record_handler=_act_on_request, processor=_privacy, context=context)


# ---------------------------------------------------------------- the published catalog's vocabulary
_catalog = BatchProcessor(event_type=EventType.SQS)


def _keep_vocabulary(record: SQSRecord) -> None:
    profile_store().save_vocabulary(CatalogPublished.model_validate(envelope_from_body(record.body).data))


@logger.inject_lambda_context
def catalog_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """CatalogPublished: the categories and brands storefront events may name, the sensitive ones no segment uses."""
    return process_partial_response(event=event, record_handler=_keep_vocabulary, processor=_catalog, context=context)
