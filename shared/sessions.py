"""Storefront sessions of signed-in customers, and one-click unsubscribe tokens (pure; the key
comes from Secrets Manager).

Anyone may know a customer id, so every public route that acts for a customer wants proof that
the caller is that customer (shared/trust.py). Persona has no customer passwords; the retailer's
sign-in does. When a customer signs in, the retailer's backend (which holds the `session_keys`
secret too) signs a session for them:

    <expiry epoch seconds>.<base64url HMAC-SHA256(key, "session" 0x1f customer id 0x1f expiry)>

and the storefront sends it as the `X-Persona-Session` header. An anonymous visitor needs
none: their id is the random secret their cookie holds.

The retailer's mailer signs an unsubscribe token the same way with purpose "unsubscribe" (RFC 8058
one-click: the link in the e-mail carries it); it lets its holder withdraw that customer's e-mail
consent and nothing else.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from shared import signing
from shared.errors import Unauthorized

SESSION_HEADER = "X-Persona-Session"
SESSION_LIFETIME = timedelta(hours=12)
PURPOSE = "session"
UNSUBSCRIBE_PURPOSE = "unsubscribe"
UNSUBSCRIBE_LIFETIME = timedelta(days=90)

SessionState = Literal["valid", "missing", "invalid", "expired"]


def issue(key: str, customer_id: str, now: datetime, lifetime: timedelta = SESSION_LIFETIME) -> str:
    return signing.issue(key, PURPOSE, customer_id, now, lifetime)


def state(key: str, customer_id: str, session: str | None, now: datetime) -> SessionState:
    if not session:
        return "missing"
    expires = signing.expiry(key, PURPOSE, customer_id, session)
    if expires is None:
        return "invalid"
    return "expired" if now.timestamp() > expires else "valid"


def check(key: str, customer_id: str, session: str | None, now: datetime) -> None:
    """Raises 401 unless `session` is a live session of this customer."""
    refuse(state(key, customer_id, session, now))


def refuse(found: SessionState) -> None:
    """The 401 for a session that does not prove the customer (nothing for a valid one)."""
    if found == "missing":
        raise Unauthorized(f"This is a customer's: sign in to the shop to see or change it (send the {SESSION_HEADER} "
                           "header the shop's sign-in gives).", code="session_required")
    if found == "invalid":
        raise Unauthorized("This session is not this customer's: sign in again.", code="invalid_session")
    if found == "expired":
        raise Unauthorized("This session has expired: sign in again.", code="session_expired")


def issue_unsubscribe(key: str, customer_id: str, now: datetime, lifetime: timedelta = UNSUBSCRIBE_LIFETIME) -> str:
    return signing.issue(key, UNSUBSCRIBE_PURPOSE, customer_id, now, lifetime)


def unsubscribe_valid(key: str, customer_id: str, token: str | None, now: datetime) -> bool:
    expires = signing.expiry(key, UNSUBSCRIBE_PURPOSE, customer_id, token) if token else None
    return expires is not None and now.timestamp() <= expires
