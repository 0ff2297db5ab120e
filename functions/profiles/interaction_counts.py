"""Per-visitor interaction counts (the thin slice of the profile)."""

from __future__ import annotations

from collections.abc import Mapping

from functions.profiles.schemas import InteractionCounts, InteractionRecorded

TOTAL = "interactions_total"
PREFIX = "interactions_"


def visitor_ids(interaction: InteractionRecorded) -> list[str]:
    """Every id the interaction is known under; each is counted (stitching comes later)."""
    return [i for i in (interaction.customer_id, interaction.anonymous_id) if i]


def increments(interaction: InteractionRecorded) -> dict[str, int]:
    return {TOTAL: 1, f"{PREFIX}{interaction.type}": 1}


def counts_from_item(item: Mapping[str, object]) -> InteractionCounts:
    by_type = {
        name.removeprefix(PREFIX): int(value)  # DynamoDB numbers arrive as Decimal
        for name, value in item.items()
        if name.startswith(PREFIX) and name != TOTAL
    }
    return InteractionCounts(total=int(item.get(TOTAL, 0)), by_type=dict(sorted(by_type.items())))
