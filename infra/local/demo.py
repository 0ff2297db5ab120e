"""Demo data loaded by `persona up`: the demo shop (catalog and a model trained on its
simulated shoppers), a few visitors browsing the storefront, and CDNOW's real orders
as a CRM export.

Everything goes in the way real data would: the model through `persona train` and the
models bucket, consent and events through the public API, the export through the drop
bucket (S3 notification, queue, import function).
"""

from __future__ import annotations

import importlib.util
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from functions.recommend.publishing import publish_catalog, publish_model
from infra.local.demo_catalog import demo_catalog, simulate_shoppers, write_interactions
from infra.local.drop import drop
from infra.local.runtime import Endpoints
from shared.aws.s3 import ObjectStore

# Items of the demo catalog the demo visitors touch (id, category, brand).
CATALOG = [
    ("sku-1001", "running-shoes", "Stride"),
    ("sku-1002", "running-shoes", "Aero"),
    ("sku-2001", "rain-jackets", "Nordwand"),
    ("sku-3001", "socks", "Stride"),
]
# The demo visitors agreed in the consent banner. Neither falls in the 5 % global holdout
# (shared/bucketing.py), which would show them nothing personal.
CONSENTING = ("anon-demo-3", "cust-demo-42")


def demo_events(now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    events: list[dict[str, Any]] = []

    def add(minutes_ago: int, **fields: Any) -> None:
        stamp = (now - timedelta(minutes=minutes_ago)).isoformat()
        events.append({"timestamp": stamp, "context": {"device": "mobile", "locale": "en-GB"}, **fields})

    # An anonymous visitor who browses running shoes and leaves a cart.
    add(30, type="page_view", anonymous_id="anon-demo-3", context={"device": "mobile", "page": "/", "traffic_source": "instagram"})
    for minutes, (sku, category, brand) in zip((28, 25), CATALOG[:2]):
        add(minutes, type="product_view", anonymous_id="anon-demo-3", item_id=sku, category=category, brand=brand)
    add(24, type="add_to_cart", anonymous_id="anon-demo-3", item_id="sku-1002", category="running-shoes", brand="Aero")
    # A known customer who searches, buys and clicks a campaign.
    add(90, type="search", customer_id="cust-demo-42", anonymous_id="anon-demo-2", query="rain jacket")
    add(88, type="product_view", customer_id="cust-demo-42", item_id="sku-2001", category="rain-jackets", brand="Nordwand")
    add(80, type="purchase", customer_id="cust-demo-42", item_id="sku-2001", value="149.00", currency="EUR")
    add(10, type="email_click", customer_id="cust-demo-42", context={"device": "desktop", "traffic_source": "email"})
    return events


DEMO_DATA = Path(__file__).resolve().parent / "demo_data"


def cdnow_orders() -> Path | None:
    """CDNOW's 69,659 real orders, shipped inside the `lifetimes` package (not copied here)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "CDNOW_master.txt"
    return path if path.is_file() else None


def open_shop(endpoints: Endpoints, workdir: Path) -> dict[str, Any]:
    """Publish the demo catalog and a model trained on the demo shoppers (about a second)."""
    from models.data import load_interactions
    from models.train import train_model

    catalog = demo_catalog()
    interactions = write_interactions(simulate_shoppers(catalog), workdir / "demo" / "interactions.csv")
    metadata = train_model(load_interactions(interactions), workdir / "demo" / "model")
    bucket = ObjectStore(endpoints.buckets["models"])
    publish_catalog(bucket, catalog)
    return {"products": len(catalog.items), "model_version": publish_model(bucket, workdir / "demo" / "model"),
            "trained_on": metadata.interactions}


# The storefront's hero banner test: visible on the home page, measured on conversion.
HERO_EXPERIMENT = {
    "key": "hero-banner",
    "hypothesis": "A hero banner with the season's trail-running range lifts conversion over the generic one",
    "variants": [{"key": "control", "weight": 0.5}, {"key": "trail-season", "weight": 0.5}],
    "primary_metric": "conversion_rate",
    "secondary_metrics": ["revenue_per_visitor", "average_order_value"],
}


def _call(endpoints: Endpoints, method: str, path: str, body: Any, *, admin: bool = False) -> Any:
    headers = {"content-type": "application/json", **({"x-api-key": endpoints.admin_api_key} if admin else {})}
    request = urllib.request.Request(f"{endpoints.api_url}{path}", data=json.dumps(body).encode(), headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def load(endpoints: Endpoints, workdir: Path) -> dict[str, Any]:
    """Open the demo shop, post the storefront events and drop CDNOW's orders into the
    CRM drop bucket.

    The import runs in the background (about 25 s for 23,570 customers locally);
    `GET /v1/imports` shows its report when done.
    """
    summary: dict[str, Any] = {"shop": open_shop(endpoints, workdir)}
    for subject in CONSENTING:
        _call(endpoints, "PUT", f"/v1/consents/{subject}",
              {"purposes": {"analytics": True, "personalization": True}, "source": "banner", "policy_version": "demo-1"})
    summary["events"] = _call(endpoints, "POST", "/v1/events", {"events": demo_events()})
    _call(endpoints, "POST", "/v1/experiments", HERO_EXPERIMENT, admin=True)
    summary["experiment"] = _call(endpoints, "PATCH", f"/v1/experiments/{HERO_EXPERIMENT['key']}", {"status": "running"}, admin=True)["key"]
    orders = cdnow_orders()
    if orders is not None:
        summary["dropped"] = drop(orders, "orders", endpoints, mapping=DEMO_DATA / "cdnow.mapping.json")
    return summary
