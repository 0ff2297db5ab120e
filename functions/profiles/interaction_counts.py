"""Interaction counters per profile (customer id, or anonymous id until it is linked).

Besides totals per interaction type, the counters keep what segments need:
category and brand views and purchases, and internal search terms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from functions.profiles.schemas import InteractionCounts, InteractionRecorded

TOTAL = "interactions_total"
PREFIX = "interactions_"
AFFINITY_PREFIXES = ("view_cat:", "buy_cat:", "view_brand:", "buy_brand:", "search:")
_SPACES = re.compile(r"\s+")
MAX_NAME = 64


def is_counter(attribute: str) -> bool:
    return attribute.startswith(PREFIX) or attribute.startswith(AFFINITY_PREFIXES)


def _name(text: str) -> str:
    return _SPACES.sub(" ", text.strip())[:MAX_NAME]


def increments(interaction: InteractionRecorded) -> dict[str, int]:
    counters = {TOTAL: 1, f"{PREFIX}{interaction.type}": 1}
    action = {"product_view": "view", "purchase": "buy"}.get(interaction.type)
    if action and interaction.category:
        counters[f"{action}_cat:{_name(interaction.category)}"] = 1
    if action and interaction.brand:
        counters[f"{action}_brand:{_name(interaction.brand)}"] = 1
    if interaction.type == "search" and interaction.query:
        counters[f"search:{_name(interaction.query.lower())}"] = 1
    return counters


def counters_from_item(item: Mapping[str, object]) -> dict[str, int]:
    return {name: int(value) for name, value in item.items() if is_counter(name)}  # DynamoDB numbers are Decimal


def counts_from_item(item: Mapping[str, object]) -> InteractionCounts:
    by_type = {
        name.removeprefix(PREFIX): int(value)
        for name, value in item.items()
        if name.startswith(PREFIX) and name != TOTAL
    }
    return InteractionCounts(total=int(item.get(TOTAL, 0)), by_type=dict(sorted(by_type.items())))
