"""Keyed hashes of identifiers (pure).

Suppression lists and proofs of erasure keep these instead of identifiers.
HMAC-SHA256 with a deployment secret rather than a plain hash: a plain hash of an
e-mail address is reversed by hashing a list of addresses.
"""

from __future__ import annotations

import hashlib
import hmac


def normalise(identifier: str) -> str:
    """E-mail addresses and ids compare case- and whitespace-insensitively."""
    return identifier.strip().lower()


def pseudonym(identifier: str, key: str) -> str:
    return hmac.new(key.encode(), normalise(identifier).encode(), hashlib.sha256).hexdigest()
