"""Interaction counters per profile (customer id, or anonymous id until it is linked).

Besides totals per interaction type, the counters keep what segments need: category and brand views
and purchases. Internal search terms are values, never attribute names: a string set (`searched`) of at
most MAX_SEARCH_TERMS distinct terms per profile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from functions.profiles.schemas import InteractionCounts, InteractionRecorded

TOTAL = "interactions_total"
PREFIX = "interactions_"
AFFINITY_PREFIXES = ("view_cat:", "buy_cat:", "view_brand:", "buy_brand:")
SEARCHED = "searched"  # the string set of a profile's search terms
MAX_SEARCH_TERMS = 20
_SPACES = re.compile(r"\s+")
MAX_NAME = 64


def is_counter(attribute: str) -> bool:
    return attribute.startswith(PREFIX) or attribute.startswith(AFFINITY_PREFIXES)


# Per profile, at most this many distinct names of each kind are counted; a new name beyond it is not (the first
# ones stay). Storefront text is the caller's: made-up values must not grow a profile item towards DynamoDB's
# 400 KB. Categories and brands are the published catalog's already (collection.known_words).
MAX_NAMES_PER_KIND = {"view_cat:": 50, "buy_cat:": 50, "view_brand:": 50, "buy_brand:": 50}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _name(text: str) -> str:
    return _SPACES.sub(" ", _CONTROL.sub(" ", text).strip())[:MAX_NAME]


def increments(interaction: InteractionRecorded, counted: Mapping[str, object] | None = None) -> dict[str, int]:
    """The counters one interaction adds, given the profile's `counted` ones (None: not read, no cap)."""
    counters = {TOTAL: 1, f"{PREFIX}{interaction.type}": 1}
    named: dict[str, int] = {}
    action = {"product_view": "view", "purchase": "buy"}.get(interaction.type)
    if action and interaction.category:
        named[f"{action}_cat:{_name(interaction.category)}"] = 1
    if action and interaction.brand:
        named[f"{action}_brand:{_name(interaction.brand)}"] = 1
    return {**counters, **{n: v for n, v in named.items() if counted is None or _room_for(n, counted)}}


def search_terms(interaction: InteractionRecorded, counted: Mapping[str, object] | None = None) -> frozenset[str]:
    """The search term to add to the profile's `searched` set: none beyond MAX_SEARCH_TERMS distinct ones."""
    if interaction.type != "search" or not interaction.query:
        return frozenset()
    term = _name(interaction.query.lower())
    known = set((counted or {}).get(SEARCHED) or ())  # type: ignore[arg-type]
    return frozenset({term}) if term in known or len(known) < MAX_SEARCH_TERMS else frozenset()


def names_anything(interaction: InteractionRecorded) -> bool:
    """Whether the interaction adds a capped name (a category, brand or search term): only then must the profile's
    counted names be read first."""
    if interaction.type == "search":
        return bool(interaction.query)
    return interaction.type in ("product_view", "purchase") and bool(interaction.category or interaction.brand)


def _room_for(name: str, counted: Mapping[str, object]) -> bool:
    if name in counted:
        return True
    kind = next(k for k in MAX_NAMES_PER_KIND if name.startswith(k))
    return sum(1 for n in counted if n.startswith(kind)) < MAX_NAMES_PER_KIND[kind]


def counters_from_item(item: Mapping[str, object]) -> dict[str, int]:
    return {name: int(value) for name, value in item.items() if is_counter(name)}  # DynamoDB numbers are Decimal


def counts_from_item(item: Mapping[str, object]) -> InteractionCounts:
    by_type = {
        name.removeprefix(PREFIX): int(value)
        for name, value in item.items()
        if name.startswith(PREFIX) and name != TOTAL
    }
    return InteractionCounts(total=int(item.get(TOTAL, 0)), by_type=dict(sorted(by_type.items())))
