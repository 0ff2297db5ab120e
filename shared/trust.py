"""Persona's trust model: who calls a public route, and what each caller may do (pure).

Every public route assumes its caller may be an attacker. Three kinds of caller reach them:

* A **visitor** holds an anonymous id in a first-party cookie. The id is a random bearer secret
  (at least 128 bits: `is_visitor_id` refuses ids too short or too simple to be one, and
  `new_visitor_id` makes them) and proves nothing beyond itself. A visitor may send their own
  browsing, read and set their own consents, get their own recommendations and variants, and
  file a privacy request about that id alone.
* A **signed-in customer** is proven by `X-Persona-Session`, signed by the retailer's sign-in for
  one customer id (shared/sessions.py). They may act for that customer and nobody else: send
  events under the id, link their own anonymous id to it (`identify`), read and change its
  consents, get its recommendations and variants.
* The **retailer's backend** is proven by a server credential: IAM-signed routes under
  `/v1/server/` in AWS (API Gateway puts the signer's ARN in the request context, which a caller
  cannot write), the local server key in the local runtime. It may send events for any customer,
  and only it may send purchases with their value (an order system knows what was paid).

What follows from it, everywhere:

* An id the caller could not prove is never acted on: a `customer_id` or `user_id` without that
  customer's session (or the backend) is refused, or the caller is served as the visitor they are.
* Only a proven link joins a visitor to a customer: `identify` with the customer's session.
* Answers never depend on facts the caller could not already prove; known and unknown ids answer
  with the same shape and status.
* A malformed session or token is a 401/403, never a 500.

The check lives in one place: `shared.api.caller`, a dependency every public route declares.
"""

from __future__ import annotations

import math
import re
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from shared import sessions
from shared.errors import BadRequest
from shared.sessions import SessionState

MIN_VISITOR_ID_BITS = 128
BACKEND_PATH_PREFIX = "/v1/server/"
VISITOR_ID_RULE = ("anonymous_id must be the random id the storefront script makes (at least 128 random bits, "
                   "e.g. 32 hex digits or 22+ URL-safe base64 characters): a short or simple id is guessable")

_HEX = re.compile(r"^[0-9a-fA-F-]+$")


def estimated_bits(identifier: str) -> float:
    """An upper estimate of the randomness in an id: its characters times the bits of the smallest
    alphabet they come from (hex, or the character classes present)."""
    if _HEX.fullmatch(identifier):
        return 4.0 * sum(c != "-" for c in identifier)
    classes = [
        (10, str.isdigit), (26, str.islower), (26, str.isupper),
    ]
    size = sum(n for n, present in classes if any(present(c) for c in identifier if c.isascii()))
    size += len({c for c in identifier if not c.isalnum()})
    return len(identifier) * math.log2(max(size, 2))


def is_visitor_id(identifier: str) -> bool:
    """Long and random enough to be a bearer secret: ≥ 128 estimated bits, and not simple: no repeated stretch
    (zlib finds one; random text of this length never shrinks), no counting (`abcd…`, `1234…`)."""
    if estimated_bits(identifier) < MIN_VISITOR_ID_BITS:
        return False
    if len(zlib.compress(identifier.encode(), 9)) < len(identifier):
        return False
    steps = sum(ord(b) - ord(a) == 1 for a, b in zip(identifier, identifier[1:]))
    return steps <= len(identifier) // 2


def new_visitor_id() -> str:
    """192 random bits, URL-safe (what web/store.js makes in the browser too)."""
    return secrets.token_urlsafe(24)


@dataclass
class Caller:
    """Who is calling, as far as they proved it. `session` is well-formed but checked only against the
    customer id it is used for (a session is signed for one id and does not name it)."""

    now: datetime
    session: str | None = None
    backend: bool = False
    session_key: Callable[[], str] | None = None
    _states: dict[str, SessionState] = field(default_factory=dict, repr=False)

    def session_state(self, customer_id: str) -> SessionState:
        if self.session is None or self.session_key is None:
            return "missing"
        if customer_id not in self._states:
            self._states[customer_id] = sessions.state(self.session_key(), customer_id, self.session, self.now)
        return self._states[customer_id]

    def proves(self, customer_id: str) -> bool:
        """May this caller act for the customer id?"""
        return self.backend or self.session_state(customer_id) == "valid"

    def require(self, customer_id: str) -> None:
        """401 unless the caller may act for the customer id."""
        if not self.proves(customer_id):
            sessions.refuse(self.session_state(customer_id))

    def served_as(self, user_id: str | None, anonymous_id: str | None) -> tuple[str | None, str | None]:
        """The (customer, visitor) a request about these ids is served as: a visitor id must be a secret (400
        otherwise), a customer id counts only when the caller proves it (else the caller is the visitor they are)."""
        if anonymous_id and not is_visitor_id(anonymous_id):
            raise BadRequest(VISITOR_ID_RULE, code="invalid_anonymous_id")
        return (user_id if user_id and self.proves(user_id) else None), anonymous_id

    def may_unsubscribe(self, customer_id: str, token: str | None) -> bool:
        """The customer, the backend, or the holder of the one-click link the customer was mailed."""
        if self.proves(customer_id):
            return True
        return self.session_key is not None and sessions.unsubscribe_valid(self.session_key(), customer_id, token, self.now)
