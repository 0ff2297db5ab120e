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

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from shared.errors import Unauthorized

SESSION_HEADER = "X-Persona-Session"
SESSION_LIFETIME = timedelta(hours=12)


def _signature(key: str, customer_id: str, expires: int) -> str:
    digest = hmac.new(key.encode(), f"session\x1f{customer_id}\x1f{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(key: str, customer_id: str, now: datetime, lifetime: timedelta = SESSION_LIFETIME) -> str:
    expires = int((now + lifetime).timestamp())
    return f"{expires}.{_signature(key, customer_id, expires)}"


def check(key: str, customer_id: str, session: str | None, now: datetime) -> None:
    """Raises 401 unless `session` is a live session of this customer."""
    if not session:
        raise Unauthorized(f"This is a customer's consent: sign in to the shop to see or change it (send the {SESSION_HEADER} "
                           "header the shop's sign-in gives).", code="session_required")
    expires_text, _, signature = session.partition(".")
    if not expires_text.isdigit() or not hmac.compare_digest(signature, _signature(key, customer_id, int(expires_text))):
        raise Unauthorized("This session is not this customer's: sign in again.", code="invalid_session")
    if now.timestamp() > int(expires_text):
        raise Unauthorized("This session has expired: sign in again.", code="session_expired")
