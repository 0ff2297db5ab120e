"""Per-item signals that need no model: popularity, trending, co-purchases.

Serving uses them where the factor model cannot help: a visitor without history
(popularity, trending) and "bought together" on a product page (co-purchases).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.data import Interactions

TRENDING_WINDOW_SECONDS = 7 * 24 * 3600
DAY_SECONDS = 24 * 3600
MAX_NEIGHBOURS = 20
# A "basket" of more items than this is a bulk session (a film fan rating a shelf in one
# evening), not a purchase; it would also cost size² pairs.
MAX_BASKET = 50


@dataclass(frozen=True)
class CoPurchases:
    neighbours: np.ndarray  # int32 [N, M], -1 pads
    strength: np.ndarray  # float32 [N, M], 0 pads

    def save(self, path) -> None:
        np.savez_compressed(path, neighbours=self.neighbours, strength=self.strength)


def popularity(data: Interactions) -> np.ndarray:
    """Total interaction weight per item."""
    return np.bincount(data.items, weights=data.weights, minlength=len(data.item_ids))


def trending(data: Interactions) -> np.ndarray:
    """Weight per item in the 7 days before the newest interaction; popularity when undated."""
    if data.timestamps is None:
        return popularity(data)
    recent = data.timestamps > data.timestamps.max() - TRENDING_WINDOW_SECONDS
    return np.bincount(data.items[recent], weights=data.weights[recent], minlength=len(data.item_ids))


def baskets(data: Interactions) -> np.ndarray | None:
    """Basket number per row (-1: in no basket), or None when the data cannot say.

    Purchases of one user on one UTC day when types are known (all of a user's purchases
    when undated); without types, everything a user did on one UTC day.
    """
    if data.purchases is None and data.timestamps is None:
        return None
    in_basket = data.purchases if data.purchases is not None else np.ones(len(data), bool)
    day = np.zeros(len(data), np.int64) if data.timestamps is None else np.floor(data.timestamps / DAY_SECONDS).astype(np.int64)
    keys = np.stack([data.users.astype(np.int64), day], axis=1)
    basket = np.full(len(data), -1, np.int64)
    if in_basket.any():
        basket[in_basket] = np.unique(keys[in_basket], axis=0, return_inverse=True)[1].ravel()
    return basket


def copurchases(data: Interactions, max_neighbours: int = MAX_NEIGHBOURS) -> CoPurchases | None:
    """For each item its strongest co-purchases, strength = co-count / sqrt(count_i · count_j)
    with counts in baskets; None when no two items were ever bought together."""
    basket = baskets(data)
    if basket is None or (basket < 0).all():
        return None
    n_items = len(data.item_ids)
    # One entry per (basket, item): buying two of a thing is not a co-purchase.
    pairs = np.unique(basket[basket >= 0] * n_items + data.items[basket >= 0])
    basket_of, item_of = pairs // n_items, (pairs % n_items).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, basket_of[1:] != basket_of[:-1]])
    sizes = np.diff(np.r_[starts, len(pairs)])
    real = np.repeat(sizes <= MAX_BASKET, sizes)
    count = np.bincount(item_of[real], minlength=n_items).astype(np.float64)
    shared = (sizes >= 2) & (sizes <= MAX_BASKET)
    if not shared.any():
        return None
    left, right = _pairs_within_groups(item_of[np.repeat(shared, sizes)], sizes[shared])
    pair_keys, co_count = np.unique(left * n_items + right, return_counts=True)
    left, right = pair_keys // n_items, pair_keys % n_items
    strength = co_count / np.sqrt(count[left] * count[right])
    # Strongest first within each item; ties by neighbour index so the result is stable.
    order = np.lexsort((right, -strength, left))
    left, right, strength = left[order], right[order], strength[order]
    first = np.searchsorted(left, left, side="left")
    rank = np.arange(len(left)) - first
    top = rank < max_neighbours
    neighbours = np.full((n_items, max_neighbours), -1, np.int32)
    values = np.zeros((n_items, max_neighbours), np.float32)
    neighbours[left[top], rank[top]] = right[top]
    values[left[top], rank[top]] = strength[top]
    return CoPurchases(neighbours, values)


def _pairs_within_groups(members: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (a, b), a != b, of members of the same group (groups are
    consecutive runs of `sizes` members)."""
    starts = np.cumsum(sizes) - sizes
    per_member = np.repeat(sizes, sizes)  # each member pairs with its whole group
    left_pos = np.repeat(np.arange(len(members)), per_member)
    group_start = np.repeat(np.repeat(starts, sizes), per_member)
    offset = np.arange(len(left_pos)) - np.repeat(np.cumsum(per_member) - per_member, per_member)
    right_pos = group_start + offset
    distinct = left_pos != right_pos
    return members[left_pos[distinct]], members[right_pos[distinct]]
