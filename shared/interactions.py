"""Payloads of the events the profiles context publishes about people's behaviour and segments.

Other contexts consume them (recommend, experiments, results), so they live in shared/
and travel in every bundle; profiles owns them and is the only publisher.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

InteractionType = Literal[
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "purchase",
    "email_click",
    "unsubscribe",
    "identify",
]


class EventContext(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: Literal["desktop", "mobile", "tablet", "app", "other"] | None = None
    traffic_source: str | None = Field(default=None, max_length=64)
    page: str | None = Field(default=None, max_length=2048)
    locale: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")


class RecentInteraction(BaseModel):
    """An interaction as a profile keeps it (no ids, no context)."""

    interaction_id: str
    type: InteractionType
    occurred_at: datetime
    item_id: str | None = None
    category: str | None = None
    brand: str | None = None
    query: str | None = None
    value: Decimal | None = None
    currency: str | None = None


class InteractionRecorded(RecentInteraction):
    """Payload of the `InteractionRecorded` event."""

    anonymous_id: str | None = None
    customer_id: str | None = None
    context: EventContext


class IdentityLinked(BaseModel):
    """Payload of `IdentityLinked`: from now on the anonymous id is this customer."""

    anonymous_id: str
    customer_id: str
    linked_at: datetime


class ConversionRecorded(BaseModel):
    """Payload of `ConversionRecorded` (a purchase on the storefront)."""

    interaction_id: str
    anonymous_id: str | None
    customer_id: str | None
    occurred_at: datetime
    value: Decimal
    currency: str
    item_id: str | None = None
    context: EventContext


class ProfileUpdated(BaseModel):
    """Payload of `ProfileUpdated`: segment membership changed."""

    profile_id: str
    added: list[str]
    removed: list[str]
    segments: list[str]
