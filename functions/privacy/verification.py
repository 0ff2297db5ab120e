"""Signed, expiring verification tokens (pure; the key comes from Secrets Manager).

A token is `<expiry epoch seconds>.<HMAC-SHA256(key, request id + expiry)>`,
URL-safe. It proves that whoever holds it received the message sent to the
request's contact address; nothing else about the request is in it.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import NamedTuple

from shared import signing
from functions.privacy.schemas import VerificationRoute
from shared.contacts import fingerprint
from shared.errors import Forbidden, Gone

TOKEN_LIFETIME = timedelta(hours=24)
PURPOSE = "verify"


def issue(key: str, request_id: str, now: datetime, lifetime: timedelta = TOKEN_LIFETIME) -> str:
    return signing.issue(key, PURPOSE, request_id, now, lifetime)


def check(key: str, request_id: str, token: str, now: datetime) -> None:
    """Raises 403 for a token that is not this request's, 410 for an expired one."""
    expires = signing.expiry(key, PURPOSE, request_id, token)
    if expires is None:
        raise Forbidden("This verification token is not valid for this request.", code="invalid_token")
    if now.timestamp() > expires:
        raise Gone("This verification token has expired; submit the request again to get a new one.", code="token_expired")


class OnFile(NamedTuple):
    """A customer the privacy context knows of, and the fingerprint of their e-mail on file (None: no address)."""

    customer_id: str
    email_fingerprint: str | None


def route(on_file: OnFile | None, contact: str, fingerprint_key: str) -> VerificationRoute:
    """Whether the confirmation link may go to the address the requester typed.

    A subject not known as a customer is an anonymous visitor: its id is the secret its cookie holds,
    the address is theirs to choose. A customer's link goes only to the address on file: anyone may
    know a customer id. The requester is told the same either way (no probing which address is on file).
    """
    if on_file is None:
        return "link_sent"
    if on_file.email_fingerprint is None:
        return "no_contact_on_file"
    matches = hmac.compare_digest(on_file.email_fingerprint, fingerprint(contact, fingerprint_key))
    return "link_sent" if matches else "contact_not_on_file"
