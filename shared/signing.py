"""Signed, expiring tokens (pure): `<expiry epoch seconds>.<base64url HMAC-SHA256(key, purpose 0x1f subject 0x1f expiry)>`.

The purpose keeps a token of one kind (a request's verification, a customer's session)
from being taken for another; what the token proves is said where each kind is issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta

# Strict: epoch seconds, a dot, the 43 characters of an unpadded base64url SHA-256. Anything else is not a
# token (`"²".isdigit()` is true and `int("²")` raises: a lenient parse answered 500).
TOKEN_PATTERN = re.compile(r"^([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")


def _signature(key: str, purpose: str, subject: str, expires: int) -> str:
    digest = hmac.new(key.encode(), f"{purpose}\x1f{subject}\x1f{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(key: str, purpose: str, subject: str, now: datetime, lifetime: timedelta) -> str:
    expires = int((now + lifetime).timestamp())
    return f"{expires}.{_signature(key, purpose, subject, expires)}"


def expiry(key: str, purpose: str, subject: str, token: str) -> int | None:
    """The token's expiry (epoch seconds) when it was signed for this purpose and subject, else None.
    Constant-time: how long a wrong token takes does not tell how much of it was right."""
    parsed = TOKEN_PATTERN.fullmatch(token)
    if parsed is None:
        return None
    expires = int(parsed.group(1))
    if not hmac.compare_digest(parsed.group(2), _signature(key, purpose, subject, expires)):
        return None
    return expires


def well_formed(token: str) -> bool:
    """Whether `token` has a token's shape (says nothing of whose it is)."""
    return TOKEN_PATTERN.fullmatch(token) is not None
