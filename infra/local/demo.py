"""Demo data loaded by `persona up`: a few visitors browsing the storefront.

It goes in through the public API, so the demo exercises the same path as a
real storefront (validation, EventBridge, queue, consumer).
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

CATALOG = [
    ("sku-1001", "running-shoes", "Stride"),
    ("sku-1002", "running-shoes", "Aero"),
    ("sku-2001", "rain-jackets", "Nordwand"),
    ("sku-3001", "socks", "Stride"),
]


def demo_events(now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    events: list[dict[str, Any]] = []

    def add(minutes_ago: int, **fields: Any) -> None:
        stamp = (now - timedelta(minutes=minutes_ago)).isoformat()
        events.append({"timestamp": stamp, "context": {"device": "mobile", "locale": "en-GB"}, **fields})

    # An anonymous visitor who browses running shoes and leaves a cart.
    add(30, type="page_view", anonymous_id="anon-demo-1", context={"device": "mobile", "page": "/", "traffic_source": "instagram"})
    for minutes, (sku, category, brand) in zip((28, 25), CATALOG[:2]):
        add(minutes, type="product_view", anonymous_id="anon-demo-1", item_id=sku, category=category, brand=brand)
    add(24, type="add_to_cart", anonymous_id="anon-demo-1", item_id="sku-1002", category="running-shoes", brand="Aero")
    # A known customer who searches, buys and clicks a campaign.
    add(90, type="search", customer_id="cust-demo-42", anonymous_id="anon-demo-2", query="rain jacket")
    add(88, type="product_view", customer_id="cust-demo-42", item_id="sku-2001", category="rain-jackets", brand="Nordwand")
    add(80, type="purchase", customer_id="cust-demo-42", item_id="sku-2001", value="149.00", currency="EUR")
    add(10, type="email_click", customer_id="cust-demo-42", context={"device": "desktop", "traffic_source": "email"})
    return events


def load(api_url: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{api_url}/v1/events",
        data=json.dumps({"events": demo_events()}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())
