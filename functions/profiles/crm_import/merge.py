"""Merge a chunk's per-profile aggregates into what is stored (pure).

Conflict rules for customer attributes (documented in the README):
- the newest import wins over an older value, and every value keeps its lineage
  (which source set it, when);
- a value the data subject set themselves (source `data_subject`, from a
  rectification request) wins over any later import of the old value.
Orders merge by order id and campaign reactions by their content key, so the
same rows arriving again (a redelivered or re-dropped file) change nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

DATA_SUBJECT = "data_subject"  # a rectification request
PROTECTED_SOURCES = frozenset({DATA_SUBJECT})
ORDER_FIELDS = ("at", "amount", "currency", "quantity", "items")
ENGAGEMENT_EVENTS = ("open", "click")


def merge_attributes(
    stored: dict[str, Any] | None, incoming: dict[str, Any], *, source: str, at: str
) -> tuple[dict[str, Any], bool]:
    """(attributes with lineage, whether anything changed)."""
    merged = dict((stored or {}).get("attributes", {}))
    changed = False
    for name, value in incoming.items():
        current = merged.get(name)
        protected = current is not None and current["source"] in PROTECTED_SOURCES and source not in PROTECTED_SOURCES
        if current is not None and (current["value"] == value or protected):
            continue
        merged[name] = {"value": value, "source": source, "at": at}
        changed = True
    return merged, changed


def merge_orders(stored: dict[str, Any] | None, incoming: dict[str, tuple]) -> tuple[dict[str, Any], int]:
    """(orders item fields, how many incoming orders were already stored)."""
    orders = dict((stored or {}).get("orders", {}))
    duplicates = 0
    for order_id, facts in incoming.items():
        if order_id in orders:
            duplicates += 1
        else:
            orders[order_id] = list(facts)
    return {"orders": orders, **order_summary(orders)}, duplicates


def order_summary(orders: dict[str, list]) -> dict[str, Any]:
    revenue: dict[str, Decimal] = {}
    for _, amount, currency, _, _ in orders.values():
        revenue[currency] = revenue.get(currency, Decimal(0)) + Decimal(amount)
    moments = sorted(facts[0] for facts in orders.values())
    return {
        "order_count": len(orders),
        "revenue": {currency: str(total) for currency, total in sorted(revenue.items())},
        "first_order_at": moments[0] if moments else None,
        "last_order_at": moments[-1] if moments else None,
    }


def merge_campaign_events(stored: dict[str, Any] | None, incoming: dict[str, tuple]) -> tuple[dict[str, Any], int]:
    """(campaign item fields, how many incoming reactions were already stored)."""
    events = dict((stored or {}).get("events", {}))
    duplicates = 0
    for key, facts in incoming.items():
        if key in events:
            duplicates += 1
        else:
            events[key] = list(facts)
    counts: dict[str, int] = {}
    last: dict[str, str] = {}
    for _, event, at in events.values():
        counts[event] = counts.get(event, 0) + 1
        last[event] = max(last.get(event, ""), at)
    engaged = [last[e] for e in ENGAGEMENT_EVENTS if e in last]
    unsubscribed_at = last.get("unsubscribe")
    return {
        "events": events,
        "event_counts": counts,
        "last_engaged_at": max(engaged) if engaged else None,
        # An unsubscribe after the last engagement means the person left the list.
        "unsubscribed": bool(unsubscribed_at and unsubscribed_at >= max(engaged or [""])),
    }, duplicates
