"""Payload of `CatalogPublished`: the words of the published catalog that other contexts may trust.

Storefront events name a category and a brand in free text; an attacker can send any. The recommend
context owns the catalog and, whenever a catalog or rules are published, tells the others which
categories and brands exist and which categories are sensitive (health, lingerie: never a segment,
never a reason shown). Profiles keeps the latest and drops what is not in it at the door.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

EVENT = "CatalogPublished"
# Bounded so the event fits EventBridge's 256 KB and the stored item DynamoDB's 400 KB with room to spare.
MAX_CATEGORIES = 2_000
MAX_BRANDS = 5_000
# Sensitive until a catalog's rules say otherwise (recommend's guard default; profiles before any publish).
DEFAULT_SENSITIVE_CATEGORIES = ("health", "lingerie")


class CatalogPublished(BaseModel):
    categories: list[str] = Field(max_length=MAX_CATEGORIES)
    brands: list[str] = Field(max_length=MAX_BRANDS)
    sensitive_categories: list[str] = Field(default_factory=list, max_length=MAX_CATEGORIES)
    published_at: datetime


def vocabulary_of(categories: set[str], brands: set[str], sensitive: set[str], at: datetime) -> CatalogPublished:
    """The vocabulary of a catalog (the first of each in sorted order when a catalog has more than fit)."""
    return CatalogPublished(categories=sorted(categories)[:MAX_CATEGORIES], brands=sorted(brands)[:MAX_BRANDS],
                            sensitive_categories=sorted(sensitive & categories)[:MAX_CATEGORIES], published_at=at)
