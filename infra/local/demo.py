"""Demo data loaded by `persona up`: the demo shop (catalog and a model trained on its
simulated shoppers), a few visitors browsing the storefront, and a retailer's CRM:
CDNOW's real orders (the 1/10 sample of the BTYD literature: 2,357 customers, 6,919
orders) as an orders export, and a generated customers export for the same people.

Everything goes in the way real data would: the model through `persona train` and the
models bucket, consent and events through the public API, the export through the drop
bucket (S3 notification, queue, import function).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import random
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


def cdnow_orders(name: str = "CDNOW_master.txt") -> Path | None:
    """CDNOW's real orders, shipped inside the `lifetimes` package (not copied here):
    CDNOW_master.txt (69,659 orders of 23,570 customers) or CDNOW_sample.txt (the 1/10
    sample: 6,919 orders of 2,357 customers)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "datasets" / name
    return path if path.is_file() else None


def cdnow_sample_export(folder: Path) -> Path | None:
    """The 1/10 sample as an orders export in CDNOW_master's layout (its second column, the
    customer's number within the sample, dropped), so the same mapping reads both.

    The full master file imports too (`persona drop`, README); the demo takes the sample
    because the local runtime is one process: 23,570 newly segmented customers mean
    tens of thousands of ProfileUpdated messages for the experiments and results queues,
    minutes of background work before the storefront is quick again."""
    sample = cdnow_orders("CDNOW_sample.txt")
    if sample is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "cdnow_orders.txt"
    lines = [" customer_id  date number_of_cds  dollar_value"]
    for line in sample.read_text().splitlines():
        if line.strip():
            customer, _, date, cds, dollars = line.split()
            lines.append(f" {customer} {date} {cds} {dollars}")
    export.write_text("\n".join(lines) + "\n")
    return export


FIRST_NAMES = ("Anna", "Lukas", "Marie", "Jonas", "Sophie", "Elias", "Emma", "Noah", "Léa", "Louis", "Chloé", "Hugo",
               "Giulia", "Marco", "Sofia", "Luca", "Lotte", "Daan", "Emily", "Oliver", "Lucía", "Mila", "Zoë", "Jürgen")
LAST_NAMES = ("Schmidt", "Müller", "Weber", "Fischer", "Martin", "Bernard", "Dubois", "Rossi", "Russo", "de Vries",
              "Jansen", "Smith", "Jones", "García", "Fernández", "Novak", "Hofer", "Gruber", "Meier", "Keller")
COUNTRIES = {"DE": 0.34, "GB": 0.16, "FR": 0.14, "NL": 0.09, "AT": 0.08, "IT": 0.07, "CH": 0.05, "ES": 0.05, "US": 0.02}
DIAL_CODES = {"DE": "+4915", "GB": "+447", "FR": "+336", "NL": "+316", "AT": "+43660", "IT": "+393", "CH": "+417", "ES": "+346", "US": "+1212"}


def generated_customers(orders: Path, folder: Path, seed: int = 7) -> Path:
    """A CRM customers export for the people in the orders export, as a CRM really
    exports it: names, e-mail, phone, country, opt-in, sign-up date (their first order),
    with the usual dirt: about 2 % malformed e-mail addresses, 3 % without a country, a
    few duplicated rows and a few without a customer id (the import quarantines those). Every address is @example.org (reserved: nobody's real mail)."""
    first_order: dict[str, str] = {}
    for line in orders.read_text().splitlines()[1:]:
        customer, date = line.split()[:2]
        first_order[customer] = min(date, first_order.get(customer, date))
    rng = random.Random(seed)
    rows = []
    for n, (customer, date) in enumerate(sorted(first_order.items())):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        country = rng.choices(list(COUNTRIES), weights=list(COUNTRIES.values()))[0]
        local = f"{first}.{last}{n}".lower().replace(" ", "").replace("ü", "ue").replace("é", "e").replace("ë", "e").replace("í", "i")
        email = f"{local}@example.org" if rng.random() > 0.02 else f"{local}@example"  # a typo the import quarantines
        rows.append({
            "customer_id": customer, "email": email, "phone": f"{DIAL_CODES[country]}{rng.randrange(10**7, 10**8)}",
            "first_name": first, "last_name": last,
            "birth_date": f"{rng.randint(1950, 2002)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "country": country if rng.random() > 0.03 else "", "email_opt_in": str(rng.random() < 0.6).lower(),
            "created_at": f"{date[:4]}-{date[4:6]}-{date[6:]}",
        })
    rows += [dict(r) for r in rng.sample(rows, k=max(1, len(rows) // 200))]  # exported twice
    rows += [{**r, "customer_id": ""} for r in rng.sample(rows, k=5)]  # lost their id on the way
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "crm_customers.csv"
    with export.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return export


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
    """Open the demo shop, post the storefront events and drop the CRM exports (customers,
    then CDNOW's orders) into the drop bucket.

    The imports and the segments run in the background (seconds for 2,357 customers);
    `GET /v1/imports` shows their reports when done.
    """
    summary: dict[str, Any] = {"shop": open_shop(endpoints, workdir)}
    for subject in CONSENTING:
        _call(endpoints, "PUT", f"/v1/consents/{subject}",
              {"purposes": {"analytics": True, "personalization": True}, "source": "banner", "policy_version": "demo-1"})
    summary["events"] = _call(endpoints, "POST", "/v1/events", {"events": demo_events()})
    _call(endpoints, "POST", "/v1/experiments", HERO_EXPERIMENT, admin=True)
    summary["experiment"] = _call(endpoints, "PATCH", f"/v1/experiments/{HERO_EXPERIMENT['key']}", {"status": "running"}, admin=True)["key"]
    orders = cdnow_sample_export(workdir / "demo")
    if orders is not None:
        customers = generated_customers(orders, workdir / "demo")
        summary["dropped"] = [drop(customers, "customers", endpoints),
                              drop(orders, "orders", endpoints, mapping=DEMO_DATA / "cdnow.mapping.json")]
    return summary
