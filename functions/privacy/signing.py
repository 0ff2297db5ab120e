"""Signed, expiring tokens (pure): `<expiry epoch seconds>.<base64url HMAC-SHA256(key, purpose 0x1f subject 0x1f expiry)>`.

The purpose keeps a token of one kind (a request's verification, a customer's session)
from being taken for another; what the token proves is said where each kind is issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta


def _signature(key: str, purpose: str, subject: str, expires: int) -> str:
    digest = hmac.new(key.encode(), f"{purpose}\x1f{subject}\x1f{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(key: str, purpose: str, subject: str, now: datetime, lifetime: timedelta) -> str:
    expires = int((now + lifetime).timestamp())
    return f"{expires}.{_signature(key, purpose, subject, expires)}"


def expiry(key: str, purpose: str, subject: str, token: str) -> int | None:
    """The token's expiry (epoch seconds) when it was signed for this purpose and subject, else None.
    Constant-time: how long a wrong token takes does not tell how much of it was right."""
    expires_text, _, signature = token.partition(".")
    if not expires_text.isdigit() or not hmac.compare_digest(signature, _signature(key, purpose, subject, int(expires_text))):
        return None
    return int(expires_text)
