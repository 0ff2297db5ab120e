"""Segments of a profile, from what the profile holds (pure).

RFM
    Recency (days since the last order), frequency (orders) and monetary value
    (revenue) are scored 1-5 against the quintiles of the whole customer base
    (5 = most recent / most frequent / highest), then named with the classic
    groups (champions, loyal, potential loyalist, new, at risk, can't lose,
    hibernating, need attention). Value tier: top 10 % of revenue = high, next
    40 % = mid, the rest = low. New vs returning: one order or more.

Lifecycle and churn risk
    From the customer's own purchase rhythm: the mean gap between their orders
    (customers with one order get the base's median gap). If purchases arrived
    as a Poisson process at that rhythm, the chance of a silence at least as
    long as the current one is exp(-recency / gap); churn risk is one minus it.
    Lifecycle: new (one order in the last 30 days), active (risk < 0.75), at
    risk (< 0.95), lapsed (< 0.995), churned (beyond, or a year without orders).

Behaviour and affinities (from storefront interactions and campaign reactions)
    cart abandoner (added to cart, never bought on the storefront), repeat
    visitor (5+ page or product views), searcher (with top search terms),
    email engaged / unsubscribed, top categories and brands (views count 1,
    purchases 3), and content personas configured as rules on category views.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from shared.catalog import DEFAULT_SENSITIVE_CATEGORIES

ONE_YEAR_DAYS = 365
NEW_CUSTOMER_DAYS = 30
PURCHASE_WEIGHT = 3
REPEAT_VISITOR_VIEWS = 5
TOP_AFFINITIES = 3


@dataclass(frozen=True)
class OrderHistory:
    order_dates: tuple[datetime, ...]  # sorted
    revenue: Decimal


@dataclass(frozen=True)
class Persona:
    """A content persona: people who viewed at least `min_views` pages of any of `categories`."""

    name: str
    categories: tuple[str, ...]
    min_views: int = 2


DEFAULT_PERSONAS = (
    Persona("runner", ("running-shoes", "running-apparel", "running-guides")),
    Persona("outdoor enthusiast", ("rain-jackets", "hiking-boots", "outdoor-guides")),
    Persona("beginner investor", ("beginner-guides", "investing-basics")),
)


@dataclass(frozen=True)
class Quintiles:
    """Cut points of the customer base (4 per dimension)."""

    recency_days: tuple[float, ...]
    frequency: tuple[float, ...]
    monetary: tuple[float, ...]
    median_gap_days: float
    top_10_revenue: float
    top_50_revenue: float


def _cuts(values: Sequence[float]) -> tuple[float, ...]:
    ordered = sorted(values)
    if not ordered:
        return (0.0, 0.0, 0.0, 0.0)
    return tuple(ordered[min(len(ordered) - 1, int(len(ordered) * q / 5))] for q in (1, 2, 3, 4))


def _gaps(dates: Sequence[datetime]) -> list[float]:
    return [(b - a).total_seconds() / 86400 for a, b in zip(dates, dates[1:])]


def quintiles(histories: Iterable[OrderHistory], as_of: datetime) -> Quintiles:
    recency, frequency, monetary, gaps = [], [], [], []
    for history in histories:
        if not history.order_dates:
            continue
        recency.append((as_of - history.order_dates[-1]).total_seconds() / 86400)
        frequency.append(float(len(history.order_dates)))
        monetary.append(float(history.revenue))
        history_gaps = [g for g in _gaps(history.order_dates) if g > 0]
        if history_gaps:
            gaps.append(sum(history_gaps) / len(history_gaps))
    ordered_revenue = sorted(monetary, reverse=True)

    def top(share: float) -> float:
        return ordered_revenue[max(0, math.ceil(len(ordered_revenue) * share) - 1)] if ordered_revenue else 0.0

    gaps.sort()
    return Quintiles(
        recency_days=_cuts(recency),
        frequency=_cuts(frequency),
        monetary=_cuts(monetary),
        median_gap_days=gaps[len(gaps) // 2] if gaps else 90.0,
        top_10_revenue=top(0.10),
        top_50_revenue=top(0.50),
    )


def _score(value: float, cuts: Sequence[float], *, lower_is_better: bool = False) -> int:
    score = bisect.bisect_right(cuts, value) + 1  # 1..5
    return 6 - score if lower_is_better else score


def rfm_group(r: int, f: int, m: int) -> str:
    if r >= 4 and f >= 4 and m >= 4:
        return "champions"
    if r <= 2 and f >= 4 and m >= 4:
        return "cant_lose"
    if r <= 2 and f >= 3:
        return "at_risk"
    if f >= 4:
        return "loyal"
    if r >= 4 and f == 1:
        return "new"
    if r >= 3 and f >= 2:
        return "potential_loyalist"
    if r <= 2:
        return "hibernating"
    return "need_attention"


@dataclass
class Segments:
    rfm: dict[str, int] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)  # every segment the profile is in
    churn_risk: float | None = None
    top_categories: list[str] = field(default_factory=list)
    top_brands: list[str] = field(default_factory=list)
    search_terms: list[str] = field(default_factory=list)


def purchase_segments(history: OrderHistory, base: Quintiles, as_of: datetime) -> Segments:
    out = Segments()
    if not history.order_dates:
        return out
    recency = max(0.0, (as_of - history.order_dates[-1]).total_seconds() / 86400)
    frequency = len(history.order_dates)
    revenue = float(history.revenue)
    r = _score(recency, base.recency_days, lower_is_better=True)
    f = _score(frequency, base.frequency)
    m = _score(revenue, base.monetary)
    out.rfm = {"recency": r, "frequency": f, "monetary": m}
    out.labels.append(f"rfm:{rfm_group(r, f, m)}")
    tier = "high" if revenue >= base.top_10_revenue else "mid" if revenue >= base.top_50_revenue else "low"
    out.labels.append(f"value:{tier}")
    out.labels.append("customer:new" if frequency == 1 else "customer:returning")

    own_gaps = [g for g in _gaps(history.order_dates) if g > 0]
    rhythm = sum(own_gaps) / len(own_gaps) if own_gaps else base.median_gap_days
    out.churn_risk = round(1 - math.exp(-recency / max(rhythm, 1.0)), 4)
    if frequency == 1 and recency <= NEW_CUSTOMER_DAYS:
        stage = "new"
    elif recency > ONE_YEAR_DAYS or out.churn_risk >= 0.995:
        stage = "churned"
    elif out.churn_risk < 0.75:
        stage = "active"
    elif out.churn_risk < 0.95:
        stage = "at_risk"
    else:
        stage = "lapsed"
    out.labels.append(f"lifecycle:{stage}")
    return out


def _top(counts: dict[str, float], n: int = TOP_AFFINITIES) -> list[str]:
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def behaviour_segments(
    counters: dict[str, int], campaign: dict | None, personas: Sequence[Persona] = DEFAULT_PERSONAS,
    sensitive: frozenset[str] = frozenset(DEFAULT_SENSITIVE_CATEGORIES), searched: Sequence[str] = (),
) -> Segments:
    """From interaction counters (`interactions_<type>`, `view_cat:<c>`, `buy_cat:<c>`,
    `view_brand:<b>`, `buy_brand:<b>`), the distinct terms searched and campaign engagement. A sensitive category
    (health, lingerie: the published catalog's) is never an affinity, a persona's reason or a segment."""
    counters = {k: v for k, v in counters.items() if not (k.startswith(("view_cat:", "buy_cat:")) and k.partition(":")[2] in sensitive)}
    out = Segments()
    by_type = {k.removeprefix("interactions_"): v for k, v in counters.items() if k.startswith("interactions_")}
    if by_type.get("add_to_cart", 0) and not by_type.get("purchase", 0):
        out.labels.append("behaviour:cart_abandoner")
    if by_type.get("page_view", 0) + by_type.get("product_view", 0) >= REPEAT_VISITOR_VIEWS:
        out.labels.append("behaviour:repeat_visitor")
    if searched:
        out.labels.append("behaviour:searcher")
        out.search_terms = sorted(searched)[:5]
    if campaign:
        if campaign.get("unsubscribed"):
            out.labels.append("email:unsubscribed")
        elif campaign.get("last_engaged_at"):
            out.labels.append("email:engaged")
    categories: dict[str, float] = {}
    brands: dict[str, float] = {}
    for key, count in counters.items():
        kind, _, name = key.partition(":")
        weight = PURCHASE_WEIGHT if kind.startswith("buy_") else 1
        if kind in ("view_cat", "buy_cat"):
            categories[name] = categories.get(name, 0) + weight * count
        elif kind in ("view_brand", "buy_brand"):
            brands[name] = brands.get(name, 0) + weight * count
    out.top_categories, out.top_brands = _top(categories), _top(brands)
    out.labels += [f"affinity:category:{c}" for c in out.top_categories]
    out.labels += [f"affinity:brand:{b}" for b in out.top_brands]
    viewed = {k.removeprefix("view_cat:"): v for k, v in counters.items() if k.startswith("view_cat:")}
    for persona in personas:
        if sum(viewed.get(c, 0) for c in persona.categories) >= persona.min_views:
            out.labels.append(f"persona:{persona.name}")
    return out


def combine(*parts: Segments) -> Segments:
    out = Segments()
    for part in parts:
        out.rfm = out.rfm or part.rfm
        out.churn_risk = out.churn_risk if out.churn_risk is not None else part.churn_risk
        out.labels += part.labels
        out.top_categories = out.top_categories or part.top_categories
        out.top_brands = out.top_brands or part.top_brands
        out.search_terms = out.search_terms or part.search_terms
    out.labels = sorted(set(out.labels))
    return out
