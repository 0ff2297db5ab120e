"""Business rules of recommendations, read from configuration (the models bucket's
`config/rules.json`, defaults below when it is absent). Changing them needs no deploy."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from functions.recommend.schemas import Placement
from shared.catalog import DEFAULT_SENSITIVE_CATEGORIES


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt rule must fail loudly, not be ignored


class Boosts(_Rules):
    """Added to the model's score after it is scaled to [0, 1] over the candidates."""

    margin: float = Field(default=0.15, ge=0, le=1, description="Times the item's margin (0-1)")
    new_arrival: float = Field(default=0.1, ge=0, le=1, description="For items on sale for fewer than new_arrival_days")
    new_arrival_days: int = Field(default=30, ge=1)


class FrequencyCap(_Rules):
    """An item shown `max_exposures` times in `days` days is rested."""

    max_exposures: int = Field(default=3, ge=1)
    days: int = Field(default=7, ge=1, le=90)


class CreepinessGuard(_Rules):
    """Sensitive categories never drive recommendations: a view, cart or purchase in one is
    never folded into a person's basis (so a single very recent view cannot change anything),
    and their items are shown only as similar items on a product page of the same category,
    where the shopper is looking at them anyway."""

    sensitive_categories: list[str] = Field(default_factory=lambda: list(DEFAULT_SENSITIVE_CATEGORIES))


class RecommendRules(_Rules):
    exclude_out_of_stock: bool = True
    exclude_purchased: bool = Field(default=True, description="Unless the item is replenishable")
    excluded_categories: list[str] = Field(default_factory=list, description="Never recommended anywhere")
    placement_categories: dict[Placement, list[str]] = Field(
        default_factory=dict, description="Per placement, the only categories it may show (absent: all)"
    )
    max_per_category: int | None = Field(default=3, ge=1, description="Diversity: at most this many items per category")
    boosts: Boosts = Field(default_factory=Boosts)
    frequency_cap: FrequencyCap = Field(default_factory=FrequencyCap)
    guard: CreepinessGuard = Field(default_factory=CreepinessGuard)
    interaction_weights: dict[str, float] = Field(
        default_factory=lambda: {"product_view": 1.0, "email_click": 1.0, "add_to_cart": 3.0, "purchase": 5.0}
    )
    recency_half_life_days: float = Field(default=14.0, gt=0, description="An interaction this old weighs half")
    history_limit: int = Field(default=50, ge=1, le=500, description="Newest interactions folded in")
    candidates_per_item: int = Field(default=5, ge=1, le=50, description="Graph returns n x this before rules re-rank")
    budget_ms: float = Field(default=150.0, gt=0, description="Scoring slower than this answers the neutral fallback")
