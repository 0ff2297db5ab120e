"""Interaction counts per profile (customer id, or anonymous id until it is linked)."""

from __future__ import annotations

from collections.abc import Mapping

from functions.profiles.schemas import InteractionCounts, InteractionRecorded

TOTAL = "interactions_total"
PREFIX = "interactions_"


def increments(interaction: InteractionRecorded) -> dict[str, int]:
    return {TOTAL: 1, f"{PREFIX}{interaction.type}": 1}


def counts_from_item(item: Mapping[str, object]) -> InteractionCounts:
    by_type = {
        name.removeprefix(PREFIX): int(value)  # DynamoDB numbers arrive as Decimal
        for name, value in item.items()
        if name.startswith(PREFIX) and name != TOTAL
    }
    return InteractionCounts(total=int(item.get(TOTAL, 0)), by_type=dict(sorted(by_type.items())))
