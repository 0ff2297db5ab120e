"""Contacts on file (`ContactsOnFile`: profiles -> privacy), the proof of who may confirm a privacy request.

A privacy request is confirmed by a link sent to an e-mail address. For a customer the
address must be the one on file, or anyone who knows a customer id could have that
customer's data sent to themselves. The profiles context holds the addresses; the privacy
context only needs to compare, so it receives a keyed fingerprint (HMAC-SHA256 with a
secret both hold, `contact_keys`), never the address: an event carries no personal data,
and without the key the fingerprint cannot be reversed by hashing a list of addresses.

Every customer an import touches is reported, with or without an address: a customer the
privacy context knows of but holds no fingerprint for (orders only, no e-mail) is not
verified by a typed address at all (the DPO verifies them by other means).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from pydantic import BaseModel, Field

from shared.pseudonyms import pseudonym

EVENT = "ContactsOnFile"
# One event per this many customers keeps it far below EventBridge's 256 KB per entry
# (~120 bytes a customer) and an import's chunk to a handful of events.
PER_EVENT = 500


class ContactOnFile(BaseModel):
    customer_id: str
    email_fingerprint: str | None = Field(
        default=None, description="Keyed fingerprint of the e-mail on file; None: this source brought no address")


class ContactsOnFile(BaseModel):
    """Payload of `ContactsOnFile`: customers the profiles context holds, with their address's fingerprint."""

    contacts: list[ContactOnFile]
    reported_at: datetime


def fingerprint(email: str, key: str) -> str:
    return pseudonym(email, key)


def reports(emails: Mapping[str, str | None], key: str, now: datetime) -> Iterator[ContactsOnFile]:
    """`ContactsOnFile` payloads for these customers (customer id -> e-mail on file or None)."""
    contacts = [ContactOnFile(customer_id=c, email_fingerprint=fingerprint(e, key) if e else None) for c, e in emails.items()]
    for start in range(0, len(contacts), PER_EVENT):
        yield ContactsOnFile(contacts=contacts[start:start + PER_EVENT], reported_at=now)
