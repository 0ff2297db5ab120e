"""Demo data loaded by `persona up`: the demo shop (catalog and a model trained on its
simulated shoppers), a few visitors browsing the storefront, and a retailer's CRM:
CDNOW's real orders (the 1/10 sample of the BTYD literature: 2,357 customers, 6,919
orders) as an orders export, and a generated customers export for the same people.

Everything goes in the way real data would: the model through `persona train` and the
models bucket, consent and events through the public API (the signed-in customer's with the
session the shop's sign-in gives, the order through the retailer's backend route with the
server key), the export through the drop bucket (S3 notification, queue, import function).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import random
import time
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


def demo_visitor(name: str) -> str:
    """A demo visitor's id. The public API takes only a visitor id that is a secret (shared/trust.py: at least
    128 random-looking bits), so a readable name gets 32 hex digits of its SHA-256: the same in every run, so
    the README can name it (a demo's id is public, which a real visitor's never is). As `tests.conftest.visitor`."""
    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:32]}"


DEMO_VISITOR = demo_visitor("anon-demo-3")  # anon-demo-3-12ced589a81134691a8a0c12283f1217
DEMO_CUSTOMER = "cust-demo-42"
DEMO_CUSTOMER_VISITOR = demo_visitor("anon-demo-2")  # the customer's device before signing in
# The demo visitors agreed in the consent banner. Neither falls in the 5 % global holdout
# (shared/bucketing.py), which would show them nothing personal.
CONSENTING = (DEMO_VISITOR, DEMO_CUSTOMER)


def demo_events(now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """The demo's storefront traffic, by who sends it (shared/trust.py): `visitor`, the anonymous visitor's
    browsing (no session); `customer`, the signed-in customer's (with their session: events naming a customer
    id need it); `orders`, the customer's order as the retailer's backend sends it (only it sends purchases
    with their value)."""
    now = now or datetime.now(UTC)
    batches: dict[str, list[dict[str, Any]]] = {"visitor": [], "customer": [], "orders": []}

    def add(batch: str, minutes_ago: int, **fields: Any) -> None:
        stamp = (now - timedelta(minutes=minutes_ago)).isoformat()
        batches[batch].append({"timestamp": stamp, "context": {"device": "mobile", "locale": "en-GB"}, **fields})

    # An anonymous visitor who browses running shoes and leaves a cart.
    add("visitor", 30, type="page_view", anonymous_id=DEMO_VISITOR,
        context={"device": "mobile", "page": "/", "traffic_source": "instagram"})
    for minutes, (sku, category, brand) in zip((28, 25), CATALOG[:2]):
        add("visitor", minutes, type="product_view", anonymous_id=DEMO_VISITOR, item_id=sku, category=category, brand=brand)
    add("visitor", 24, type="add_to_cart", anonymous_id=DEMO_VISITOR, item_id="sku-1002", category="running-shoes", brand="Aero")
    # A known customer who signs in on their phone (identify: the one event that links the device to them),
    # searches, buys and clicks a campaign.
    add("customer", 91, type="identify", customer_id=DEMO_CUSTOMER, anonymous_id=DEMO_CUSTOMER_VISITOR)
    add("customer", 90, type="search", customer_id=DEMO_CUSTOMER, anonymous_id=DEMO_CUSTOMER_VISITOR, query="rain jacket")
    add("customer", 88, type="product_view", customer_id=DEMO_CUSTOMER, item_id="sku-2001", category="rain-jackets", brand="Nordwand")
    add("orders", 80, type="purchase", customer_id=DEMO_CUSTOMER, anonymous_id=DEMO_CUSTOMER_VISITOR, item_id="sku-2001",
        category="rain-jackets", brand="Nordwand", value="149.00", currency="EUR")
    add("customer", 10, type="email_click", customer_id=DEMO_CUSTOMER, context={"device": "desktop", "traffic_source": "email"})
    return batches


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


def _call(endpoints: Endpoints, method: str, path: str, body: Any, *, admin: bool = False,
          headers: dict[str, str] | None = None) -> Any:
    headers = {"content-type": "application/json", **({"x-api-key": endpoints.admin_api_key} if admin else {}), **(headers or {})}
    request = urllib.request.Request(f"{endpoints.api_url}{path}", data=json.dumps(body).encode(), headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


# The local runtime's stand-in for the retailer's sign-in (infra/local/gateway.py): a session for a customer id.
SIGN_IN = "/local/storefront-sessions"


def sign_in(endpoints: Endpoints, customer_id: str) -> dict[str, str]:
    """The header that proves the customer (`X-Persona-Session`), as the shop's sign-in gives it."""
    answer = _call(endpoints, "POST", SIGN_IN, {"customer_id": customer_id})
    return {answer["header"]: answer["session"]}


# How long the demo waits for the profiles context to learn its visitors' consents (through a queue, seconds).
CONSENT_ARRIVAL_S = 60.0


def _post_when_consented(endpoints: Endpoints, path: str, events: list[dict[str, Any]], headers: dict[str, str] | None = None) -> Any:
    """POST a batch; again while the collection API withholds browsing because the consent given a moment ago has not
    reached the profiles context yet (it checks consent at the door). The same events again are the same events
    (their ids are digests of their content): nothing is counted twice."""
    deadline = time.monotonic() + CONSENT_ARRIVAL_S
    while True:
        answer = _call(endpoints, "POST", path, {"events": events}, headers=headers)
        if not answer.get("withheld") or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def post_demo_events(endpoints: Endpoints, now: datetime | None = None) -> dict[str, Any]:
    """Each batch by its sender; what the collection API answered, added up."""
    batches = demo_events(now)
    session = sign_in(endpoints, DEMO_CUSTOMER)
    answers = [
        _post_when_consented(endpoints, "/v1/events", batches["visitor"]),
        _post_when_consented(endpoints, "/v1/events", batches["customer"], session),
        _call(endpoints, "POST", "/v1/server/events", {"events": batches["orders"]},
              headers={"x-persona-server-key": endpoints.server_key}),
    ]
    return {"accepted": sum(a["accepted"] - a.get("withheld", 0) for a in answers),
            "withheld": sum(a.get("withheld", 0) for a in answers),
            "rejected": [{**r, "batch": name} for name, a in zip(batches, answers) for r in a["rejected"]],
            "changed": [{**r, "batch": name} for name, a in zip(batches, answers) for r in a.get("changed", [])]}


def load(endpoints: Endpoints, workdir: Path) -> dict[str, Any]:
    """Open the demo shop, post the storefront events and drop the CRM exports (customers,
    then CDNOW's orders) into the drop bucket.

    The imports and the segments run in the background (seconds for 2,357 customers);
    `GET /v1/imports` shows their reports when done.
    """
    summary: dict[str, Any] = {"shop": open_shop(endpoints, workdir)}
    for subject in CONSENTING:  # a customer's consents need their session; a visitor's id is its own proof
        _call(endpoints, "PUT", f"/v1/consents/{subject}",
              {"purposes": {"analytics": True, "personalization": True}, "source": "banner", "policy_version": "demo-1"},
              headers=sign_in(endpoints, subject) if subject == DEMO_CUSTOMER else None)
    summary["events"] = post_demo_events(endpoints)
    _call(endpoints, "POST", "/v1/experiments", HERO_EXPERIMENT, admin=True)
    summary["experiment"] = _call(endpoints, "PATCH", f"/v1/experiments/{HERO_EXPERIMENT['key']}", {"status": "running"}, admin=True)["key"]
    orders = cdnow_sample_export(workdir / "demo")
    if orders is not None:
        customers = generated_customers(orders, workdir / "demo")
        summary["dropped"] = [drop(customers, "customers", endpoints),
                              drop(orders, "orders", endpoints, mapping=DEMO_DATA / "cdnow.mapping.json")]
    return summary
