"""From a person, a placement and a model to the items shown, with a reason for each (pure).

The graph scores every item; rules are boolean masks over the catalog index and a
re-rank of a few candidates, so nothing here loops over the catalog in Python.
Anything that cannot be personalized (consent, no history, no model, an error, the
time budget) answers the neutral fallback, flagged `personalized: false`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from functions.recommend.model import CatalogIndex, ScoringModel
from functions.recommend.rules import RecommendRules
from functions.recommend.schemas import (
    Exposure,
    FallbackReason,
    HistoryEntry,
    Placement,
    Reason,
    RecommendedItem,
    Recommendations,
)
from shared.errors import BadRequest

logger = logging.getLogger(__name__)

_REASON_BY_TYPE = {"product_view": "viewed", "email_click": "viewed", "add_to_cart": "carted", "purchase": "bought"}
_REASON_TEXT = {
    "viewed": "Because you viewed {title}",
    "carted": "Because you added {title} to your cart",
    "bought": "Because you bought {title}",
    "similar": "Similar to {title}",
    "same_brand": "More from {brand}",
    "bought_together": "Often bought with {title}",
    "trending": "Trending now",
    "popular_in_area": "Popular in your area",
    "popular": "Popular with other shoppers",
    "new_arrival": "New arrival",
}


@dataclass(frozen=True)
class Query:
    placement: Placement
    n: int
    now: datetime
    item_id: str | None = None
    same_brand: bool = False
    market: str | None = None  # from the locale's region, e.g. "de-DE" -> "DE"


@dataclass
class Person:
    """What the recommend context holds about the requester, and what consent allows."""

    fallback_reason: FallbackReason | None  # None: personalization allowed
    history: list[HistoryEntry] = field(default_factory=list)  # newest first
    exposures: list[Exposure] = field(default_factory=list)  # within the frequency-cap window


@dataclass
class _Picks:
    indices: np.ndarray  # candidates, in the producer's order
    scores: np.ndarray
    reasons: list[Reason]
    exclude: np.ndarray  # the mask they were chosen under (a fill must respect it too)


def recommend(query: Query, person: Person, model: ScoringModel | None, catalog: CatalogIndex | None,
              rules: RecommendRules, clock: Callable[[], float] = time.perf_counter) -> Recommendations:
    if model is None or catalog is None:
        return Recommendations(placement=query.placement, personalized=False, fallback_reason="no_model", model_version=None, items=[])
    anchor = _anchor(query, model, catalog)
    base = _base_exclusions(query, catalog, rules, anchor)
    if person.fallback_reason is not None:
        return _answer(query, model, catalog, rules, _contextual(query, model, catalog, base, anchor), person.fallback_reason)
    started = clock()
    try:
        picks, used_person = _personal(query, person, model, catalog, rules, base, anchor)
    except Exception:  # noqa: BLE001 - a scoring bug must degrade to the fallback, never a 5xx
        logger.exception("scoring failed; answering the neutral fallback")
        return _answer(query, model, catalog, rules, _contextual(query, model, catalog, base, anchor), "scoring_error")
    if (clock() - started) * 1000 > rules.budget_ms:
        return _answer(query, model, catalog, rules, _contextual(query, model, catalog, base, anchor), "over_budget")
    if not used_person:
        return _answer(query, model, catalog, rules, picks, "no_history")
    return _answer(query, model, catalog, rules, picks, None)


# ---------------------------------------------------------------- exclusions
def _anchor(query: Query, model: ScoringModel, catalog: CatalogIndex) -> int | None:
    if query.item_id is None:
        if query.placement == "product":
            raise BadRequest("placement=product needs item_id: the product the page shows.", code="missing_item_id")
        return None
    index = model.index.get(query.item_id)
    if index is None or not catalog.known[index]:
        raise BadRequest(f"Unknown item_id {query.item_id!r}: it is not in the catalog.", code="unknown_item")
    return index


def _base_exclusions(query: Query, catalog: CatalogIndex, rules: RecommendRules, anchor: int | None) -> np.ndarray:
    """Items nobody may be shown here: unknown, out of stock, excluded or other-market items,
    and sensitive ones (except similar items on a product page of the same category)."""
    exclude = ~catalog.sold_in(query.market)
    if rules.exclude_out_of_stock:
        exclude |= ~catalog.in_stock
    if rules.excluded_categories:
        exclude |= catalog.in_categories(rules.excluded_categories)
    allowed_categories = rules.placement_categories.get(query.placement)
    if allowed_categories is not None:
        exclude |= ~catalog.in_categories(allowed_categories)
    sensitive = catalog.sensitive
    if query.placement == "product" and anchor is not None and catalog.sensitive[anchor]:
        sensitive = sensitive & (catalog.category != catalog.category[anchor])
    exclude |= sensitive
    if anchor is not None:
        exclude[anchor] = True
        if query.placement == "product" and query.same_brand:
            exclude |= catalog.brand != catalog.brand[anchor]
    return exclude


def _personal_exclusions(person: Person, model: ScoringModel, catalog: CatalogIndex, rules: RecommendRules,
                         base: np.ndarray, placement: Placement) -> np.ndarray:
    exclude = base.copy()
    if rules.exclude_purchased:
        bought = _indices(model, {h.item_id for h in person.history if h.type == "purchase"})
        exclude[bought[~catalog.replenishable[bought]]] = True
    shown = Counter(item for exposure in person.exposures for item in exposure.items)
    rested = _indices(model, {item for item, times in shown.items() if times >= rules.frequency_cap.max_exposures})
    exclude[rested] = True
    if placement in ("home", "email", "cart"):
        # Already seen or in the basket: recommending it again says nothing new.
        exclude[_indices(model, {h.item_id for h in person.history})] = True
    return exclude


def _indices(model: ScoringModel, item_ids: set[str]) -> np.ndarray:
    return np.fromiter((model.index[i] for i in item_ids if i in model.index), dtype=np.int64)


# ---------------------------------------------------------------- personal answers
def _personal(query: Query, person: Person, model: ScoringModel, catalog: CatalogIndex, rules: RecommendRules,
              base: np.ndarray, anchor: int | None) -> tuple[_Picks, bool]:
    """The personalized candidates, and whether the person's data actually shaped them."""
    exclude = _personal_exclusions(person, model, catalog, rules, base, query.placement)
    used_person = bool(person.history or person.exposures)
    if query.placement == "product":
        return _similar(query, model, catalog, rules, exclude, anchor), used_person
    if query.placement == "cart":
        basket = _basket(person, model, anchor)
        picks = _bought_together(query, model, catalog, rules, exclude, basket)
        if picks is None and basket.size:
            picks = _folded_in(query, model, catalog, rules, exclude, basket, np.ones(basket.size, np.float32), ["add_to_cart"] * basket.size)
        return (picks, used_person) if picks is not None else (_popular(query, model, catalog, exclude), False)
    # home and email; for email the service passes only the customer's own history.
    items, weights, types = _basis(person.history, model, catalog, rules, query.now)
    if items.size == 0:
        return _popular(query, model, catalog, exclude), False
    return _folded_in(query, model, catalog, rules, exclude, items, weights, types), True


def _basis(history: list[HistoryEntry], model: ScoringModel, catalog: CatalogIndex, rules: RecommendRules,
           now: datetime) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Newest interactions, weighted by type and recency; the creepiness guard keeps sensitive
    categories out of the basis entirely."""
    items, weights, types = [], [], []
    for entry in history[: rules.history_limit]:
        index = model.index.get(entry.item_id)
        weight = rules.interaction_weights.get(entry.type, 0.0)
        if index is None or weight <= 0 or catalog.sensitive[index]:
            continue
        age_days = max((now - entry.at).total_seconds(), 0.0) / 86_400
        items.append(index)
        weights.append(weight * 0.5 ** (age_days / rules.recency_half_life_days))
        types.append(entry.type)
    return np.asarray(items, dtype=np.int64), np.asarray(weights, dtype=np.float32), types


def _basket(person: Person, model: ScoringModel, anchor: int | None) -> np.ndarray:
    """Items in the cart now: added since the last purchase and not removed, plus the anchor."""
    in_cart: dict[str, None] = {}
    for entry in reversed(person.history):  # oldest first
        if entry.type == "add_to_cart":
            in_cart[entry.item_id] = None
        elif entry.type == "remove_from_cart":
            in_cart.pop(entry.item_id, None)
        elif entry.type == "purchase":
            in_cart.clear()
    basket = _indices(model, set(in_cart))
    if anchor is not None and anchor not in basket:
        basket = np.append(basket, anchor)
    return basket


def _folded_in(query: Query, model: ScoringModel, catalog: CatalogIndex, rules: RecommendRules, exclude: np.ndarray,
               items: np.ndarray, weights: np.ndarray, types: list[str]) -> _Picks:
    out = model.score(items, weights, exclude, query.n * rules.candidates_per_item)
    keep = np.isfinite(out.scores)
    candidates, scores, basis = out.items[keep], out.scores[keep], out.basis[:, keep]
    strongest = basis.argmax(axis=0) if basis.size else np.zeros(0, dtype=np.int64)
    reasons = [_reason(_REASON_BY_TYPE.get(types[h], "viewed"), catalog, int(items[h])) for h in strongest]
    return _Picks(candidates, scores, reasons, exclude)


# ---------------------------------------------------------------- contextual answers (no personal data)
def _contextual(query: Query, model: ScoringModel, catalog: CatalogIndex, base: np.ndarray, anchor: int | None) -> _Picks:
    """What anyone would see here: similar or co-purchased items of the anchor, else popular."""
    if query.placement == "product":
        return _similar(query, model, catalog, None, base, anchor)
    if query.placement == "cart" and anchor is not None:
        picks = _bought_together(query, model, catalog, None, base, np.array([anchor]))
        if picks is not None:
            return picks
    return _popular(query, model, catalog, base)


def _similar(query: Query, model: ScoringModel, catalog: CatalogIndex, rules: RecommendRules | None,
             exclude: np.ndarray, anchor: int) -> _Picks:
    k = query.n * (rules.candidates_per_item if rules else 5)
    out = model.score(np.array([anchor]), np.ones(1, np.float32), exclude, k)
    keep = np.isfinite(out.scores)
    code = "same_brand" if query.same_brand else "similar"
    reason = _reason(code, catalog, anchor)
    return _Picks(out.items[keep], out.scores[keep], [reason] * int(keep.sum()), exclude)


def _bought_together(query: Query, model: ScoringModel, catalog: CatalogIndex, rules: RecommendRules | None,
                     exclude: np.ndarray, basket: np.ndarray) -> _Picks | None:
    strength, source = model.bought_together(basket, exclude)
    k = min(query.n * (rules.candidates_per_item if rules else 5), int((strength > 0).sum()))
    if k == 0:
        return None
    top = np.argpartition(-strength, k - 1)[:k]
    top = top[np.argsort(-strength[top], kind="stable")]
    return _Picks(top, strength[top], [_reason("bought_together", catalog, int(source[i])) for i in top], exclude)


def _popular(query: Query, model: ScoringModel, catalog: CatalogIndex, exclude: np.ndarray) -> _Picks:
    trending = model.trending if model.trending.any() else model.popularity
    scores = np.where(exclude, -np.inf, trending + 1e-6 * model.popularity)
    k = min(query.n * 5, int(np.isfinite(scores).sum()))
    if k == 0:
        return _Picks(np.zeros(0, np.int64), np.zeros(0, np.float32), [], exclude)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    code = "trending" if model.trending.any() else "popular"
    # "In your area" only where it is true: items sold in the shopper's market and not everywhere.
    local = (catalog.restricted_markets & catalog.market_items[query.market]
             if query.market in catalog.market_items else np.zeros_like(catalog.known))
    reasons = [_reason("popular_in_area" if local[i] else "new_arrival" if not model.popularity[i] and catalog.new_arrival[i]
                       else code, catalog, None) for i in top]
    return _Picks(top, scores[top].astype(np.float32), reasons, exclude)


# ---------------------------------------------------------------- re-rank and answer
def _answer(query: Query, model: ScoringModel, catalog: CatalogIndex, rules: RecommendRules, picks: _Picks,
            fallback_reason: FallbackReason | None) -> Recommendations:
    ranked = _in_order(picks, _rerank(picks, catalog, rules))
    chosen = _diverse(ranked, catalog.category, rules.max_per_category, query.n)
    if chosen.indices.size < query.n:
        # Too few left after the rules: fill with popular items under the same exclusions,
        # then, if diversity is what ran out, with the best remaining ones regardless.
        taken = picks.exclude.copy()
        taken[ranked.indices] = True
        merged = _concat(ranked, _popular(query, model, catalog, taken))
        chosen = _diverse(merged, catalog.category, rules.max_per_category, query.n)
        if chosen.indices.size < query.n:
            left = np.isin(merged.indices, chosen.indices, invert=True)
            chosen = _concat(chosen, _in_order(merged, np.flatnonzero(left)))
    items = []
    for position in range(min(query.n, chosen.indices.size)):
        item = catalog.items[int(chosen.indices[position])]
        items.append(RecommendedItem(
            item_id=item.item_id, title=item.title, category=item.category, brand=item.brand, price=item.price,
            currency=item.currency, score=round(float(chosen.scores[position]), 6), reason=chosen.reasons[position],
        ))
    return Recommendations(placement=query.placement, personalized=fallback_reason is None,
                           fallback_reason=fallback_reason, model_version=model.version, items=items)


def _in_order(picks: _Picks, positions: np.ndarray) -> _Picks:
    return _Picks(picks.indices[positions], picks.scores[positions], [picks.reasons[p] for p in positions], picks.exclude)


def _concat(first: _Picks, second: _Picks) -> _Picks:
    return _Picks(np.concatenate([first.indices, second.indices]), np.concatenate([first.scores, second.scores]),
                  first.reasons + second.reasons, first.exclude)


def _rerank(picks: _Picks, catalog: CatalogIndex, rules: RecommendRules) -> np.ndarray:
    """Positions of `picks` best first: the score scaled to [0, 1] over the candidates plus boosts."""
    if picks.indices.size == 0:
        return np.zeros(0, dtype=np.int64)
    scores = picks.scores.astype(np.float64)
    low, high = scores.min(), scores.max()
    scaled = (scores - low) / (high - low) if high > low else np.ones_like(scores)
    boosted = (scaled + rules.boosts.margin * catalog.margin[picks.indices]
               + rules.boosts.new_arrival * catalog.new_arrival[picks.indices])
    return np.argsort(-boosted, kind="stable")


def _diverse(picks: _Picks, category: np.ndarray, max_per_category: int | None, n: int) -> _Picks:
    """The first n picks keeping at most `max_per_category` per category."""
    positions = np.arange(picks.indices.size)
    if max_per_category is not None and positions.size:
        positions = positions[_rank_within_group(category[picks.indices]) < max_per_category]
    return _in_order(picks, positions[:n])


def _rank_within_group(groups: np.ndarray) -> np.ndarray:
    """For each element, how many earlier elements share its group (vectorized cumcount)."""
    by_group = np.argsort(groups, kind="stable")
    sorted_groups = groups[by_group]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    sizes = np.diff(np.r_[starts, groups.size])
    rank = np.empty(groups.size, dtype=np.int64)
    rank[by_group] = np.arange(groups.size) - np.repeat(starts, sizes)
    return rank


def _reason(code: str, catalog: CatalogIndex, basis: int | None) -> Reason:
    item = catalog.items[basis] if basis is not None and basis >= 0 else None
    text = _REASON_TEXT[code].format(title=item.title if item else "", brand=item.brand if item else "")
    return Reason(code=code, text=text, basis_item_id=item.item_id if item else None)
