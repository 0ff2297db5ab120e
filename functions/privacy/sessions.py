"""Storefront sessions of signed-in customers (pure; the key comes from Secrets Manager).

A customer's consents are theirs to see and change: anyone may know a customer id, so the
consent routes want proof that the caller is that customer. Persona has no customer
passwords; the retailer's sign-in does. When a customer signs in, the retailer's backend
(which holds the `session_keys` secret too) signs a session for them:

    <expiry epoch seconds>.<base64url HMAC-SHA256(key, "session" 0x1f customer id 0x1f expiry)>

and the storefront sends it as the `X-Persona-Session` header. An anonymous visitor needs
none: their id is the random secret their cookie holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from functions.privacy import signing
from shared.errors import Unauthorized

SESSION_HEADER = "X-Persona-Session"
SESSION_LIFETIME = timedelta(hours=12)
PURPOSE = "session"


def issue(key: str, customer_id: str, now: datetime, lifetime: timedelta = SESSION_LIFETIME) -> str:
    return signing.issue(key, PURPOSE, customer_id, now, lifetime)


def check(key: str, customer_id: str, session: str | None, now: datetime) -> None:
    """Raises 401 unless `session` is a live session of this customer."""
    if not session:
        raise Unauthorized(f"This is a customer's consent: sign in to the shop to see or change it (send the {SESSION_HEADER} "
                           "header the shop's sign-in gives).", code="session_required")
    expires = signing.expiry(key, PURPOSE, customer_id, session)
    if expires is None:
        raise Unauthorized("This session is not this customer's: sign in again.", code="invalid_session")
    if now.timestamp() > expires:
        raise Unauthorized("This session has expired: sign in again.", code="session_expired")
