"""What the privacy context does, over its ports (store, publisher, exports, key).

Handlers and consumers stay thin: they parse, call one of these, map the result.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Protocol

from functions.privacy import consent, requests, verification
from functions.privacy.schemas import (
    ConsentRecord,
    ConsentSignal,
    ConsentUpdate,
    ConsentView,
    Extension,
    OutboxMessage,
    PrivacyRequest,
    PrivacyRequestIn,
    RequestStatusView,
    StaffVerification,
)
from functions.privacy.store import PrivacyStore
from shared.consent import ConsentChanged, effective
from shared.contacts import ContactsOnFile
from shared.envelope import EventEnvelope, new_event
from shared.errors import Conflict, NotFound, TooManyRequests
from shared.privacy_tasks import EXPORTING, PrivacyRequestAccepted, PrivacyTaskCompleted, corrections_key, part_key
from shared.pseudonyms import pseudonym
from shared.trust import Caller, is_visitor_id

CONTEXT = "privacy"
DOWNLOAD_URL_LIFETIME_S = 15 * 60
VERIFY_PAGE = "/privacy.html"
# A link the privacy team hands over lasts until the request is answered (the deadline is a month, extendable).
STAFF_LINK_LIFETIME = timedelta(days=95)


class Publisher(Protocol):
    def publish(self, envelopes: list[EventEnvelope]) -> None: ...


class Exports(Protocol):
    def put(self, key: str, body: bytes, *, content_type: str = ...) -> None: ...
    def open(self, key: str) -> Any: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str = "") -> list[str]: ...
    def download_url(self, key: str, expires_s: int) -> str: ...


@dataclass
class Privacy:
    store: PrivacyStore
    publisher: Publisher
    # Signs verification tokens and pseudonymises proofs of erasure. Fetched on first use:
    # the consent routes (the storefront's) never need it, so they never wait for Secrets Manager.
    key_source: Callable[[], str]
    # Keys the fingerprints of e-mails on file (shared with profiles); only submitting a request needs it.
    contact_key_source: Callable[[], str]
    correlation_id: str = "privacy"
    # Ids of this shape are customers' even before Persona has heard of them ("": only known customers are).
    customer_id_pattern: str = ""

    @cached_property
    def key(self) -> str:
        return self.key_source()

    @cached_property
    def contact_key(self) -> str:
        return self.contact_key_source()

    def _publish(self, name: str, payload: Any) -> None:
        self.publisher.publish([new_event(name, payload, context=CONTEXT, correlation_id=self.correlation_id)])

    def _shaped_like_a_customer(self, subject_id: str) -> bool:
        return bool(self.customer_id_pattern) and re.fullmatch(self.customer_id_pattern, subject_id) is not None

    def _visitor(self, subject_id: str) -> bool:
        """Is the id an anonymous visitor's, the bearer secret of their cookie? Not when it is too simple to be a
        secret (anyone could type it: it is treated as a customer's, known or not), shaped like a customer id, or
        known as a customer."""
        return is_visitor_id(subject_id) and not self._shaped_like_a_customer(subject_id) and not self.store.is_customer(subject_id)

    # ------------------------------------------------------------ consent
    def check_caller(self, subject_id: str, caller: Caller) -> None:
        """A customer's consents are theirs alone: 401 without their session. A visitor's id is the secret of their
        cookie and needs none. Any id that is not a visitor's secret needs a session, known or not, so the answer
        never tells whether a customer id exists."""
        if caller.session_state(subject_id) == "valid":
            return
        if not self._visitor(subject_id):
            caller.require(subject_id)

    def own_requests(self, subject_id: str) -> list[RequestStatusView]:
        """The subject's requests, newest first (the privacy centre's history; the caller proved the subject)."""
        found = [self.store.get_request(rid) for _, rid in sorted(self.store.subject_request_times(subject_id), reverse=True)]
        return [_status_view(r, None) for r in found if r is not None]

    def consent_view(self, subject_id: str) -> ConsentView:
        current, restricted, objections = self.store.consent_state(subject_id) or ({}, False, [])
        return ConsentView(
            subject_id=subject_id, purposes=current, restricted=restricted, objections=objections,  # type: ignore[arg-type]
            effective=_usable(current, restricted, objections)[0],
            history=self.store.history(subject_id),
        )

    def record_consent(self, subject_id: str, records: list[ConsentRecord], now: datetime) -> None:
        before = self.store.consent_state(subject_id)
        current, restricted, objections = before or ({}, False, [])
        merged, _ = consent.apply(current, records)
        self._save_and_announce(subject_id, before, records, merged, restricted, objections, now)

    def update_consent(self, subject_id: str, update: ConsentUpdate, now: datetime) -> ConsentView:
        self.record_consent(subject_id, consent.records_for(update, now), now)
        return self.consent_view(subject_id)

    def consent_signal(self, signal: ConsentSignal) -> None:
        record = consent.signal_record(signal.purpose, signal.granted, signal.at, signal.source)
        self.record_consent(signal.subject_id, [record], signal.at)

    def identity_linked(self, anonymous_id: str, customer_id: str, now: datetime) -> int:
        """The anonymous id is now the customer's: a request about it needs the customer's address, and
        choices made before logging in (banner, as an anonymous visitor) carry over to the customer for
        purposes the customer has not decided; returns how many were carried over."""
        self.store.links.link(anonymous_id, customer_id)
        self.store.mark_customer(customer_id, now)
        visitor = self.store.consent_state(anonymous_id)
        if visitor is None:
            return 0
        customer, _, _ = self.store.consent_state(customer_id) or ({}, False, [])
        # IdentityLinked comes only from a proven link (identify with the customer's session, shared/trust.py);
        # the history says where each carried choice was made.
        carried = [r.model_copy(update={"carried_from": anonymous_id}) for p, r in visitor[0].items() if p not in customer]
        if carried:
            self.record_consent(customer_id, carried, now)
        return len(carried)

    def set_limits(self, subject_id: str, now: datetime, *, restricted: bool | None = None, objection: str | None = None) -> None:
        before = self.store.consent_state(subject_id)
        current, was_restricted, objections = before or ({}, False, [])
        self._save_and_announce(
            subject_id, before, [], current, was_restricted if restricted is None else restricted,
            sorted({*objections, objection}) if objection else objections, now)

    def _save_and_announce(self, subject_id, before, appended, current, restricted, objections, now) -> None:
        """Save the new state; publish ConsentChanged when what the data may be used for changed
        (`before` is the stored state it was computed from, None for a new subject)."""
        self.store.save_consent(subject_id, appended, current, restricted=restricted, objections=objections, now=now)
        after = _usable(current, restricted, objections)
        if before is None or _usable(*before) != after:
            self._publish("ConsentChanged", ConsentChanged(
                subject_id=subject_id, effective=after[0], restricted=restricted, objections=objections, changed_at=now))

    def contacts_reported(self, report: ContactsOnFile, now: datetime) -> int:
        return self.store.save_contacts(report.contacts, now)

    # ------------------------------------------------------------ requests
    def submit(self, body: PrivacyRequestIn, now: datetime, *, site: str) -> PrivacyRequest:
        """Record the request and send the confirmation link, only to an address allowed for the subject
        (verification.route); otherwise it waits for the privacy team. The answer is the same either way."""
        recent = [at for at, _ in self.store.subject_request_times(body.subject_id) if now - at < requests.RATE_WINDOW]
        if len(recent) >= requests.RATE_LIMIT:
            raise TooManyRequests(f"At most {requests.RATE_LIMIT} requests per person per day; try again tomorrow.")
        on_file = self.store.contact_on_file(body.subject_id)
        if on_file is None and not self._visitor(body.subject_id):
            on_file = verification.OnFile(body.subject_id, None)  # a customer not heard of yet: no address to check
        route = verification.route(on_file, body.contact, self.contact_key)
        request = requests.new_request(body, now).model_copy(update={
            "verification": route, "customer_id": on_file.customer_id if on_file else None})
        self.store.save_request(request)
        self.store.index_request(request)
        if route == "link_sent":
            token = verification.issue(self.key, request.request_id, now)
            link = _status_link(site, request.request_id, token)
            self.store.send(OutboxMessage(
                message_id=uuid.uuid4().hex, to=request.contact or "", request_id=request.request_id, created_at=now, link=link,
                subject="Confirm your privacy request",
                body=(f"We received a {request.type} request for your data. If it was you, confirm it within 24 hours: {link}\n"
                      f"Or enter this code on the privacy page: {token}\n"
                      "If it was not you, ignore this message."),
            ))
        self.store.audit(request.request_id, "received", now, type=request.type, due_at=request.due_at.isoformat(), verification=route)
        return request

    def verify_by_staff(self, request_id: str, body: StaffVerification, contexts: list[str], now: datetime, exports: Exports,
                        *, site: str) -> tuple[PrivacyRequest, str]:
        """The privacy team verified the person by other means (a request held without a link, or any other):
        the request goes ahead, and the link that follows it is handed to the person by the team."""
        request = self._request(request_id)
        if request.status != "pending_verification":
            raise Conflict(f"The request is {request.status.replace('_', ' ')}, not waiting for verification.", code="not_pending")
        request = requests.verified(request, contexts, now, self._covered(request)).model_copy(update={"verification": "by_staff"})
        self.store.save_request(request)
        self.store.audit(request_id, "verified_by_staff", now, contexts=contexts, note=body.note)
        self._accept(request, now, exports)
        token = verification.issue(self.key, request_id, now, lifetime=STAFF_LINK_LIFETIME)
        return request.model_copy(update={"flag": requests.flag(request, now)}), _status_link(site, request_id, token)

    def _request(self, request_id: str) -> PrivacyRequest:
        request = self.store.get_request(request_id)
        if request is None:
            raise NotFound(f"No privacy request {request_id!r}.")
        return request

    def status(self, request_id: str, token: str | None, now: datetime, exports: Exports | None) -> RequestStatusView:
        request = self._request(request_id)
        url = None
        if token is not None:
            verification.check(self.key, request_id, token, now)
            if request.export_key and exports is not None:
                url = exports.download_url(request.export_key, DOWNLOAD_URL_LIFETIME_S)
        return _status_view(request, url)

    def verify(self, request_id: str, token: str, contexts: list[str], now: datetime, exports: Exports) -> RequestStatusView:
        request = self._request(request_id)
        verification.check(self.key, request_id, token, now)
        if request.status != "pending_verification":
            return _status_view(request, None)  # verifying twice changes nothing
        request = requests.verified(request, contexts, now, self._covered(request))
        self.store.save_request(request)
        self.store.audit(request_id, "verified", now, contexts=contexts)
        self._accept(request, now, exports)
        return _status_view(request, None)

    def _covered(self, request: PrivacyRequest) -> list[str]:
        """What a request covers, fixed when it is verified: a visitor's request its own id only (a link made
        since is not followed); a customer's the customer and the anonymous ids proven theirs by now."""
        if request.customer_id is None:
            return [request.subject_id]
        return [request.customer_id, *sorted(self.store.links.identifiers(request.customer_id) - {request.customer_id})]

    def _accept(self, request: PrivacyRequest, now: datetime, exports: Exports) -> None:
        """Publish the request to every context. Corrected values are personal data: they wait in the exports
        bucket (written again on every re-publish, the bucket expires objects) and the event names the key."""
        key = None
        if request.corrections:
            key = corrections_key(request.request_id)
            exports.put(key, json.dumps(request.corrections).encode(), content_type="application/json")
        self._publish("PrivacyRequestAccepted", PrivacyRequestAccepted(
            request_id=request.request_id, type=request.type, subject_id=request.customer_id or request.subject_id,
            corrections_key=key, objection=request.objection, accepted_at=now, identifiers=request.identifiers))

    def task_completed(self, done: PrivacyTaskCompleted, now: datetime, exports: Exports) -> PrivacyRequest | None:
        request = self.store.get_request(done.request_id)
        if request is None:
            return None
        request, new = requests.record_task(request, done)
        if not new:
            return request
        self.store.save_request(request)
        self.store.audit(request.request_id, "task_completed", now, context=done.context, action=done.action, records=done.records)
        if requests.all_answered(request):
            request = self._finish(request, now, exports)
        return request

    def _finish(self, request: PrivacyRequest, now: datetime, exports: Exports) -> PrivacyRequest:
        export_key = None
        if request.type in EXPORTING:
            parts = {}
            for context, task in request.tasks.items():
                if task.part_key:
                    with exports.open(task.part_key) as body:
                        parts[context] = json.loads(body.read())
            export_key = f"requests/{request.request_id}/bundle.zip"
            exports.put(export_key, requests.bundle(request, parts, now), content_type="application/zip")
            for task in request.tasks.values():
                if task.part_key:
                    exports.delete(task.part_key)
        if request.corrections:
            exports.delete(corrections_key(request.request_id))  # applied: not kept a day longer
        request = requests.completed(request, now, export_key=export_key)
        if request.type == "erasure":
            # A proof per id the erasure covered (the visitor ids linked to a customer too): after a point-in-time
            # restore, `persona copy-back` leaves out every item naming any of them.
            for identifier in sorted({request.subject_id, *request.identifiers}):
                self.store.save_proof(pseudonym(identifier, self.key), request.request_id, now)
            request = requests.pseudonymised(request, pseudonym(request.subject_id, self.key))
        self.store.save_request(request)
        self.store.audit(request.request_id, "completed", now, export=bool(export_key))
        return request

    def queue(self, now: datetime, status: str | None, overdue: bool | None) -> list[PrivacyRequest]:
        out = []
        for request in self.store.requests():
            request = request.model_copy(update={"flag": requests.flag(request, now)})
            if status and request.status != status:
                continue
            if overdue is not None and (request.flag == "overdue") != overdue:
                continue
            out.append(request)
        return sorted(out, key=lambda r: r.due_at)

    def extend(self, request_id: str, extension: Extension, now: datetime) -> PrivacyRequest:
        request = requests.extend(self._request(request_id), extension)
        self.store.save_request(request)
        self.store.audit(request_id, "deadline_extended", now, months=extension.months, reason=extension.reason,
                         due_at=request.due_at.isoformat())
        return request.model_copy(update={"flag": requests.flag(request, now)})

    def lift_restriction(self, request_id: str, now: datetime) -> PrivacyRequest:
        request = self._request(request_id)
        if request.type != "restriction" or request.status != "completed":
            raise Conflict("Only a completed restriction can be lifted.", code="not_liftable")
        self.set_limits(request.subject_id, now, restricted=False)
        request = request.model_copy(update={"status": "lifted"})
        self.store.save_request(request)
        self.store.audit(request_id, "restriction_lifted", now)
        return request

    def sweep(self, now: datetime, exports: Exports) -> dict[str, int]:
        """Re-publish unanswered tasks, flag requests at risk or overdue (audited when the flag changes)."""
        summary = {"republished": 0, "at_risk": 0, "overdue": 0}
        for request in self.store.requests():
            changed = False
            if requests.needs_republish(request, now):
                self._accept(request, now, exports)
                request = request.model_copy(update={"last_published_at": now})
                self.store.audit(request.request_id, "tasks_republished", now, contexts=requests.unanswered(request))
                summary["republished"] += 1
                changed = True
            flag = requests.flag(request, now)
            if flag in ("at_risk", "overdue"):
                summary[flag] += 1
            if flag != request.flag:
                if flag in ("at_risk", "overdue"):
                    self.store.audit(request.request_id, f"flagged_{flag}", now, due_at=request.due_at.isoformat())
                request = request.model_copy(update={"flag": flag})
                changed = True
            if changed:
                self.store.save_request(request)
        return summary

    # ------------------------------------------------------------ privacy's own data (the privacy worker)
    def act_on_own_data(self, accepted: PrivacyRequestAccepted, now: datetime, exports: Exports) -> PrivacyTaskCompleted:
        subject = accepted.subject_id
        action, records, key = "nothing_held", 0, None
        if accepted.type in EXPORTING:
            view = self.consent_view(subject)
            own_requests = [self.store.get_request(rid) for _, rid in self.store.subject_request_times(subject)]
            part = {
                "consents": [r.model_dump(mode="json") for r in view.purposes.values()],
                "consent_history": [r.model_dump(mode="json") for r in view.history],
                "privacy_requests": [
                    r.model_dump(mode="json", include={"request_id", "type", "status", "received_at", "due_at", "completed_at"})
                    for r in own_requests if r is not None
                ],
            }
            key = part_key(accepted.request_id, CONTEXT)
            exports.put(key, json.dumps(part).encode(), content_type="application/json")
            action, records = "exported", sum(len(rows) for rows in part.values())
        elif accepted.type == "erasure":
            records, request_ids = self.store.erase_subject(accepted.covered(self.store.links.identifiers))
            hashed = pseudonym(subject, self.key)
            for request_id in request_ids - {accepted.request_id}:  # the person's earlier requests and exports
                earlier = self.store.get_request(request_id)
                if earlier is not None:
                    self.store.save_request(requests.pseudonymised(earlier, hashed))
                for old in exports.keys(f"requests/{request_id}/"):
                    exports.delete(old)
                    records += 1
            action = "erased"
        elif accepted.type == "restriction":
            self.set_limits(subject, now, restricted=True)
            action, records = "restricted", 1
        elif accepted.type == "objection":
            self.set_limits(subject, now, objection=accepted.objection)
            action, records = f"objection_{accepted.objection}_recorded", 1
        return PrivacyTaskCompleted(request_id=accepted.request_id, context=CONTEXT, type=accepted.type, action=action,
                                    records=records, part_key=key, completed_at=now)

    def answer(self, done: PrivacyTaskCompleted) -> None:
        self._publish("PrivacyTaskCompleted", done)


def _usable(current: dict[str, ConsentRecord], restricted: bool, objections: list[str]) -> tuple[dict, bool, list[str]]:
    """What ConsentChanged tells: effective permissions, restriction, objections."""
    granted = {p: r.granted for p, r in current.items()}
    return effective(granted, restricted=restricted, objections=objections), restricted, sorted(objections)


def _status_link(site: str, request_id: str, token: str) -> str:
    return f"{site}{VERIFY_PAGE}?request={request_id}&token={token}"


def _status_view(request: PrivacyRequest, url: str | None) -> RequestStatusView:
    return RequestStatusView(request_id=request.request_id, type=request.type, status=request.status, received_at=request.received_at,
                             due_at=request.due_at, completed_at=request.completed_at, download_url=url)
