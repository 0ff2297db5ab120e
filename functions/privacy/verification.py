"""Signed, expiring verification tokens (pure; the key comes from Secrets Manager).

A token is `<expiry epoch seconds>.<HMAC-SHA256(key, request id + expiry)>`,
URL-safe. It proves that whoever holds it received the message sent to the
request's contact address; nothing else about the request is in it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from shared.errors import Forbidden, Gone

TOKEN_LIFETIME = timedelta(hours=24)


def _signature(key: str, request_id: str, expires: int) -> str:
    digest = hmac.new(key.encode(), f"verify\x1f{request_id}\x1f{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(key: str, request_id: str, now: datetime, lifetime: timedelta = TOKEN_LIFETIME) -> str:
    expires = int((now + lifetime).timestamp())
    return f"{expires}.{_signature(key, request_id, expires)}"


def check(key: str, request_id: str, token: str, now: datetime) -> None:
    """Raises 403 for a token that is not this request's, 410 for an expired one."""
    expires_text, _, signature = token.partition(".")
    if not expires_text.isdigit() or not hmac.compare_digest(signature, _signature(key, request_id, int(expires_text))):
        raise Forbidden("This verification token is not valid for this request.", code="invalid_token")
    if now.timestamp() > int(expires_text):
        raise Gone("This verification token has expired; submit the request again to get a new one.", code="token_expired")
