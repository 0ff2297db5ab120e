"""Persistence of the privacy context (one DynamoDB table, pk/sk).

SUBJECT#<id>  STATE                      current choice per purpose, restriction, objections
SUBJECT#<id>  HISTORY#<at>#<purpose>#<n> append-only consent history
SUBJECT#<id>  REQUEST#<received>#<rid>   the subject's requests (rate limit, erasure)
SUBJECT#<id>  CONTACT                    a known customer: fingerprint of the e-mail on file (ContactsOnFile)
SUBJECT#<id>  LINKED_TO / ALIAS#<id>     identity links (IdentityLinked; shared/identity_links.py)
REQUESTS      <rid>                      a privacy request (the admin queue is this partition)
AUDIT#<rid>   <written ns>#<n>           append-only audit log; no identifiers in it
OUTBOX        <at>#<mid>                 messages sent (verification links)
ERASED#<pseudonym>  <rid>                proof of erasure: hashed id, date, request id
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta

from functions.privacy.schemas import AuditEntry, ConsentRecord, OutboxMessage, PrivacyRequest
from functions.privacy.settings import TableSettings
from functions.privacy.verification import OnFile
from shared import settings
from shared.aws.dynamodb import DynamoTable
from shared.contacts import ContactOnFile
from shared.identity_links import IdentityLinks

REQUESTS_PK = "REQUESTS"
OUTBOX_PK = "OUTBOX"
# Sent messages hold a contact address and a (24-hour) link: DynamoDB TTL removes them after this.
OUTBOX_KEPT = timedelta(days=30)


def _subject(subject_id: str) -> str:
    return f"SUBJECT#{subject_id}"


class PrivacyStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self.links = IdentityLinks(table, "SUBJECT#")

    # ------------------------------------------------------------ who is a known customer
    def save_contacts(self, contacts: list[ContactOnFile], now: datetime) -> int:
        """Record customers and their e-mail fingerprints; a report without a fingerprint (an orders
        import) marks the customer known and keeps a fingerprint already held. Returns items written."""
        keys = [{"pk": _subject(c.customer_id), "sk": "CONTACT"} for c in contacts]
        held = {i["pk"]: i.get("email_fingerprint") for i in self.table.get_many(keys)}
        writes = {}
        for key, contact in zip(keys, contacts):
            if key["pk"] not in held or (contact.email_fingerprint and contact.email_fingerprint != held[key["pk"]]):
                writes[key["pk"]] = {**key, "customer_id": contact.customer_id, "updated_at": now.isoformat(),
                                     **({"email_fingerprint": contact.email_fingerprint} if contact.email_fingerprint else {})}
        return self.table.put_many(writes.values())

    def mark_customer(self, customer_id: str, now: datetime) -> None:
        """A customer seen signing in on the storefront: known, with no address until profiles reports one."""
        self.table.put_if_absent({"pk": _subject(customer_id), "sk": "CONTACT", "customer_id": customer_id, "updated_at": now.isoformat()})

    def is_customer(self, subject_id: str) -> bool:
        return self.table.get({"pk": _subject(subject_id), "sk": "CONTACT"}, consistent=True) is not None

    def contact_on_file(self, subject_id: str) -> OnFile | None:
        """The customer a subject is (itself, or the customer an anonymous id was linked to), None for a visitor."""
        customer_id = self.links.resolve(subject_id) or subject_id
        item = self.table.get({"pk": _subject(customer_id), "sk": "CONTACT"}, consistent=True)
        return OnFile(customer_id, item.get("email_fingerprint")) if item else None

    # ------------------------------------------------------------ consent
    def consent_state(self, subject_id: str) -> tuple[dict[str, ConsentRecord], bool, list[str]] | None:
        item = self.table.get({"pk": _subject(subject_id), "sk": "STATE"}, consistent=True)
        if item is None:
            return None
        current = {p: ConsentRecord.model_validate(r) for p, r in json.loads(item["purposes"]).items()}
        return current, bool(item.get("restricted")), list(item.get("objections", []))

    def save_consent(
        self, subject_id: str, appended: list[ConsentRecord], current: dict[str, ConsentRecord],
        *, restricted: bool, objections: list[str], now: datetime,
    ) -> None:
        """Append history first: a crash in between leaves history complete and the state one step behind."""
        for record in appended:
            self.table.put_if_absent({
                "pk": _subject(subject_id), "sk": f"HISTORY#{record.at.isoformat()}#{record.purpose}#{uuid.uuid4().hex[:8]}",
                "record": record.model_dump_json(),
            })
        self.table.put({
            "pk": _subject(subject_id), "sk": "STATE", "updated_at": now.isoformat(),
            "purposes": json.dumps({p: r.model_dump(mode="json") for p, r in current.items()}),
            "restricted": restricted, "objections": sorted(set(objections)),
        })

    def history(self, subject_id: str) -> list[ConsentRecord]:
        items = self.table.query("pk", _subject(subject_id), sort_key_prefix="HISTORY#", newest_first=True)
        return [ConsentRecord.model_validate_json(i["record"]) for i in items]

    # ------------------------------------------------------------ requests
    def save_request(self, request: PrivacyRequest) -> None:
        self.table.put({"pk": REQUESTS_PK, "sk": request.request_id, "status": request.status, "request": request.model_dump_json()})

    def index_request(self, request: PrivacyRequest) -> None:
        self.table.put({"pk": _subject(request.subject_id), "sk": f"REQUEST#{request.received_at.isoformat()}#{request.request_id}",
                        "request_id": request.request_id})

    def get_request(self, request_id: str) -> PrivacyRequest | None:
        item = self.table.get({"pk": REQUESTS_PK, "sk": request_id}, consistent=True)
        return PrivacyRequest.model_validate_json(item["request"]) if item else None

    def requests(self) -> list[PrivacyRequest]:
        return [PrivacyRequest.model_validate_json(i["request"]) for i in self.table.query("pk", REQUESTS_PK)]

    def subject_request_times(self, subject_id: str) -> list[tuple[datetime, str]]:
        items = self.table.query("pk", _subject(subject_id), sort_key_prefix="REQUEST#")
        return [(datetime.fromisoformat(i["sk"].split("#")[1]), i["request_id"]) for i in items]

    # ------------------------------------------------------------ audit, outbox, proof
    def audit(self, request_id: str, step: str, now: datetime, **detail: object) -> None:
        self.table.put_if_absent({
            # Ordered by when it was written (several steps can share one `now`).
            "pk": f"AUDIT#{request_id}", "sk": f"{time.time_ns():020d}#{uuid.uuid4().hex[:8]}",
            "entry": AuditEntry(at=now, step=step, detail=detail).model_dump_json(),
        })

    def audit_trail(self, request_id: str) -> list[AuditEntry]:
        return [AuditEntry.model_validate_json(i["entry"]) for i in self.table.query("pk", f"AUDIT#{request_id}")]

    def send(self, message: OutboxMessage) -> None:
        self.table.put({"pk": OUTBOX_PK, "sk": f"{message.created_at.isoformat()}#{message.message_id}",
                        "request_id": message.request_id, "message": message.model_dump_json(),
                        "expires_at": int((message.created_at + OUTBOX_KEPT).timestamp())})

    def outbox(self) -> list[OutboxMessage]:
        return [OutboxMessage.model_validate_json(i["message"]) for i in self.table.query("pk", OUTBOX_PK, newest_first=True)]

    def erase_subject(self, identifiers: set[str]) -> tuple[int, set[str]]:
        """Delete the consents, history, request index, contact fingerprint and links of every id an erasure covers
        (fixed when it was verified), and the messages sent about their requests (they carry the contact address).
        (items deleted, the subject's request ids)."""
        items = [i for identifier in sorted(identifiers) for i in self.table.query("pk", _subject(identifier))]
        request_ids = {i["request_id"] for i in items if "request_id" in i}
        messages = [i for i in self.table.query("pk", OUTBOX_PK) if i["request_id"] in request_ids]
        keys = [{"pk": i["pk"], "sk": i["sk"]} for i in (*items, *messages)]
        return self.table.delete_many(keys), request_ids

    def save_proof(self, pseudonym: str, request_id: str, now: datetime) -> None:
        self.table.put({"pk": f"ERASED#{pseudonym}", "sk": request_id, "erased_at": now.isoformat()})


@settings.per_container
def privacy_store() -> PrivacyStore:
    return PrivacyStore(DynamoTable(settings.load(TableSettings).privacy_table_name))
