"""The retailer's order system, played by the local runtime for the demo shop's checkout (local only: not a
Persona route, not in AWS or the OpenAPI document).

Only the retailer's backend may send purchases with their value (shared/trust.py), so the shop posts its order
to `POST /local/orders` and the gateway sends one purchase per line to `POST /v1/server/events` as the backend
would. The purchases name the customer only when the shop's `X-Persona-Session` proves them; otherwise they are
the visitor's alone. `order_id` (the shop's, optional) makes a resent order the same events, counted once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.trust import VISITOR_ID_RULE, is_visitor_id

LOCAL_ORDERS = "/local/orders"
MAX_ORDER_LINES = 100
_ID = r"^[A-Za-z0-9._:@\-]+$"


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(min_length=1, max_length=128)
    category: str | None = Field(default=None, min_length=1, max_length=128)
    brand: str | None = Field(default=None, min_length=1, max_length=128)
    value: Decimal = Field(ge=0, max_digits=12, decimal_places=2)  # as the collection API takes it
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class LocalOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    anonymous_id: str = Field(min_length=1, max_length=128, pattern=_ID)
    customer_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=_ID)
    order_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_ORDER_LINES)

    @field_validator("anonymous_id")
    @classmethod
    def _a_secret(cls, anonymous_id: str) -> str:
        if not is_visitor_id(anonymous_id):
            raise ValueError(VISITOR_ID_RULE)
        return anonymous_id


def parse_order(body: bytes) -> LocalOrder:
    """The order, or ValueError saying what is wrong (answered 400)."""
    try:
        return LocalOrder.model_validate_json(body or b"null")
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ValueError(f"{where}: {error['msg']}" if where else error["msg"]) from None


def purchase_events(order: LocalOrder, customer_id: str | None, now: datetime) -> list[dict[str, Any]]:
    """One purchase per line, as the backend sends them; `customer_id` only when the shop's session proved it."""
    events = []
    for index, line in enumerate(order.lines):
        event: dict[str, Any] = {"type": "purchase", "anonymous_id": order.anonymous_id, "timestamp": now.isoformat(),
                                 **line.model_dump(mode="json", exclude_none=True)}
        if customer_id:
            event["customer_id"] = customer_id
        if order.order_id:  # the same order sent again: the same event ids (the collection API counts them once)
            digest = hashlib.sha256(f"{order.anonymous_id}\x1f{order.order_id}\x1f{index}".encode()).hexdigest()
            event["event_id"] = f"order-{digest[:40]}"
        events.append(event)
    return events
