"""Keyed hashes of identifiers (pure).

Suppression lists and proofs of erasure keep these instead of identifiers.
HMAC-SHA256 with a deployment secret rather than a plain hash: a plain hash of an
e-mail address is reversed by hashing a list of addresses.
"""

from __future__ import annotations

import hashlib
import hmac


def normalise(identifier: str) -> str:
    """The one normal form of an identifier, wherever it is hashed (suppression list, proofs, copy-back): e-mail
    addresses compare case-insensitively, ids exactly (`c-1001` is not `C-1001`: a visitor id erased in lower case
    must not suppress a customer's); surrounding whitespace never counts."""
    stripped = identifier.strip()
    return stripped.lower() if "@" in stripped else stripped


def pseudonym(identifier: str, key: str) -> str:
    return hmac.new(key.encode(), normalise(identifier).encode(), hashlib.sha256).hexdigest()
