"""Boundary models of the recommend context: API query and answer, catalog, event payloads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Placement = Literal["home", "product", "cart", "email"]
TimeOfDay = Literal["morning", "afternoon", "evening", "night"]
FallbackReason = Literal[
    "no_consent",  # the subject did not allow personalization (or email marketing, for e-mails)
    "restricted",  # Art. 18 restriction in force
    "objection",  # Art. 21 objection to profiling
    "unknown_visitor",  # no consent recorded: the default policy decides (EU: not personalized)
    "no_history",  # consented, but nothing usable to personalize from yet
    "no_model",  # no model published yet
    "scoring_error",
    "over_budget",  # scoring took longer than the configured budget
    "holdout",  # in the program's global holdout (shared/bucketing.py): never personalized
]
ReasonCode = Literal[
    "viewed", "carted", "bought", "similar", "same_brand", "bought_together",
    "trending", "popular_in_area", "popular", "new_arrival",
]


class Reason(BaseModel):
    """Why an item is shown: the text behind a "why am I seeing this?" link."""

    code: ReasonCode
    text: str
    basis_item_id: str | None = Field(default=None, description="The item of yours it comes from, if any")


class RecommendedItem(BaseModel):
    item_id: str
    title: str
    category: str
    brand: str
    price: float
    currency: str
    score: float
    reason: Reason


class Recommendations(BaseModel):
    placement: Placement
    personalized: bool = Field(description="False when the answer uses nothing about the person (neutral fallback)")
    fallback_reason: FallbackReason | None = Field(default=None, description="Why the answer is not personalized")
    model_version: str | None
    items: list[RecommendedItem]


class CatalogItem(BaseModel):
    item_id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1, max_length=256)
    category: str = Field(min_length=1, max_length=128)
    brand: str = Field(min_length=1, max_length=128)
    price: float = Field(ge=0)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    stock: int = Field(ge=0)
    margin: float = Field(default=0.0, ge=0, le=1, description="Share of the price kept: boosts favour it")
    added_on: date | None = Field(default=None, description="First day on sale: new arrivals are boosted")
    replenishable: bool = Field(default=False, description="Bought again and again (socks, coffee): not excluded once purchased")
    markets: list[str] = Field(default_factory=list, description="Country codes where it is sold; empty: everywhere")


class Catalog(BaseModel):
    items: list[CatalogItem] = Field(min_length=1)


class HistoryEntry(BaseModel):
    """One interaction the recommend context keeps (only with personalization consent)."""

    item_id: str
    type: Literal["product_view", "add_to_cart", "remove_from_cart", "purchase", "email_click"]
    at: datetime
    interaction_id: str


class Exposure(BaseModel):
    """One answer shown to a person: the frequency cap counts these."""

    placement: Placement
    items: list[str]
    at: datetime
    device: str | None = None  # context, kept for breakdowns of what was shown where
    time_of_day: TimeOfDay | None = None


class ConsentState(BaseModel):
    """The recommend context's projection of ConsentChanged for one subject."""

    personalization: bool
    email_marketing: bool
    restricted: bool = False
    objections: list[str] = Field(default_factory=list)
    changed_at: datetime
