"""`persona simulate`: realistic storefront traffic with a known true lift in one experiment.

Simulated visitors go through the public API exactly as a storefront would send them:
the consent banner (`PUT /v1/consents/{id}`, about 85 % accept), the hero banner's
assignment (`POST /v1/assignments` with device, locale, traffic source), a few product
views in a favourite category of the demo shop (the taste model of
`demo_catalog.simulate_shoppers`: popular items and a preferred brand weigh more),
the home page's recommendations (sometimes clicked), an abandoned cart now and then,
and a purchase with a base probability that is multiplied by (1 + lift) for a unit in
a treatment variant of the target experiment (the variants after the control). The
results context aggregates it all in the background, through the same queues as real
traffic, so the experiment's results and the dashboard show an effect whose true size is
known. Units outside the experiment (no consent, global holdout) buy at the base rate.

It plays the retailer's order system too: only the retailer's backend may send purchases
with their value (shared/trust.py), so each purchase goes to `POST /v1/server/events` with
the instance's server key (IAM in AWS), as an order backend sends it after checkout, while
the visitor's browsing goes to `POST /v1/events` like the storefront's. Each visitor's id is
a random secret, as the storefront script makes them (the public API takes no other).

The local runtime is one process, so the pace is the runtime's, not the client's: each
visitor's events also go through every consumer (profiles, recommend, results).

Every draw a visitor makes comes from its own generator (seed, visitor number), so
`--seed` reproduces the draws whatever the thread scheduling; the ids carry a random
run id, so runs never share units (the variant split is the platform's hash of the id).
"""

from __future__ import annotations

import http.client
import json
import random
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.recommend.schemas import CatalogItem
from infra.local.demo_catalog import CATEGORIES, COMPLEMENTS, demo_catalog
from infra.local.runtime import Endpoints

ACCEPT_SHARE = 0.85  # visitors who accept the consent banner
POLICY_VERSION = "simulate-1"
# Realistic mixes of a European sports shop's traffic.
DEVICES = {"mobile": 0.58, "desktop": 0.34, "tablet": 0.08}
LOCALES = {"de-DE": 0.34, "en-GB": 0.18, "fr-FR": 0.14, "nl-NL": 0.09, "de-AT": 0.08, "it-IT": 0.07, "de-CH": 0.05, "es-ES": 0.05}
TRAFFIC_SOURCES = {"organic": 0.30, "direct": 0.22, "paid_search": 0.14, "instagram": 0.12, "email": 0.12, "referral": 0.10}
VIEWS = (2, 6)  # product views per visitor, inclusive
CART_ABANDON_SHARE = 0.25  # non-buyers who leave something in the cart
RECOMMENDATION_CLICK_SHARE = 0.3
COMPLEMENT_SHARE = 0.35  # buyers who add a complement to the basket
# Waiting for the experiments context to learn a new consent (it arrives through a queue):
# once for the first visitor who accepted, then for each visitor.
CONSENT_READY_S = 180.0
CONSENT_WAIT_S = 30.0
CONSENT_POLL_S, CONSENT_POLL_MAX_S = 0.25, 2.0
MAX_FAILURE_SHARE = 0.05


class SimulationError(Exception):
    """The simulation cannot start (no instance, no such experiment, experiment not running)."""


class RuntimeBacklogged(Exception):
    """The experiments context does not learn new consents in time: its queue is backlogged."""


@dataclass
class Visitor:
    number: int
    anonymous_id: str  # a secret, like the storefront's (shared/trust.py)
    label: str  # sim-<run>-<number>: what its event ids start with (they do not carry the secret)
    accepts: bool
    device: str
    locale: str
    traffic_source: str
    favourite: str
    brand: str
    views: int
    draw: float  # compared with the purchase probability
    cart_draw: float
    click_draw: float
    complement_draw: float
    rng: random.Random
    events: int = 0

    @property
    def context(self) -> dict[str, str]:
        return {"device": self.device, "locale": self.locale, "traffic_source": self.traffic_source}


@dataclass
class Outcome:
    variant: str | None = None  # the target experiment's variant, None when not in it
    excluded: str | None = None  # excluded_reason, "not_assigned" (targeting/coverage) or "error"
    purchased: bool = False
    revenue: float = 0.0


@dataclass
class _Counters:
    requests: int = 0
    failed: int = 0
    withheld: int = 0  # browsing the collection API did not store: the visitor's consent had not reached it yet
    errors: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, list[float]] = field(default_factory=dict)  # per route: [total seconds, requests]
    lock: threading.Lock = field(default_factory=threading.Lock)


# A connection refused or reset before an answer: the request can be sent again (consents are
# PUTs, assignments are sticky, events carry ids the collection API deduplicates on).
RETRIED = (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected)
RETRIES = 2


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, RETRIED) or isinstance(getattr(exc, "reason", None), RETRIED)


class _Api:
    """The few calls a storefront makes; counts requests, failures and time per route (thread-safe)."""

    def __init__(self, endpoints: Endpoints, timeout_s: float = 60.0) -> None:
        self.base, self.key, self.timeout_s = endpoints.api_url.rstrip("/"), endpoints.admin_api_key, timeout_s
        self.server_key = endpoints.server_key  # the retailer's backend's (x-persona-server-key; IAM in AWS)
        self.counters = _Counters()

    def call(self, method: str, path: str, body: Any = None, *, admin: bool = False, server: bool = False) -> Any | None:
        """The answer's JSON, or None when the request failed (counted). `server`: as the retailer's backend."""
        headers = {"content-type": "application/json", **({"x-api-key": self.key} if admin else {}),
                   **({"x-persona-server-key": self.server_key} if server else {})}
        data = None if body is None else json.dumps(body).encode()
        route = f"{method} {_route(path)}"
        started, attempt = time.perf_counter(), 0
        while True:
            request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    answer = json.loads(response.read() or b"null")
                self.record(route, None, time.perf_counter() - started)
                return answer
            except urllib.error.HTTPError as exc:
                error = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                if _retryable(exc) and attempt < RETRIES:
                    attempt += 1
                    time.sleep(0.2 * attempt)
                    continue
                reason = getattr(exc, "reason", exc)
                error = type(reason).__name__ if isinstance(reason, BaseException) else str(reason)
            self.record(route, error, time.perf_counter() - started)
            return None

    def record(self, route: str, error: str | None, seconds: float | None = None) -> None:
        """Count a request (with its time) or a failure of one (without: an answer that reported one)."""
        with self.counters.lock:
            if seconds is not None:
                self.counters.requests += 1
                total = self.counters.seconds.setdefault(route, [0.0, 0])
                total[0] += seconds
                total[1] += 1
            if error:
                self.counters.failed += 1
                self.counters.errors[f"{route}: {error}"] = self.counters.errors.get(f"{route}: {error}", 0) + 1

    def mean_seconds(self) -> dict[str, float]:
        return {route: round(total / count, 3) for route, (total, count) in sorted(self.counters.seconds.items())}


def _route(path: str) -> str:
    """The route of a path, for counting errors: no query, no subject ids."""
    path = path.split("?", 1)[0]
    return "/v1/consents/{subject_id}" if path.startswith("/v1/consents/") else path


def _pick(rng: random.Random, mix: dict[str, float]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Shop:
    """The demo catalog with the demo shoppers' taste model: skewed popularity per
    category, three times the weight for the visitor's preferred brand."""

    def __init__(self, items: list[CatalogItem]) -> None:
        self.by_category: dict[str, list[CatalogItem]] = {}
        for item in items:
            self.by_category.setdefault(item.category, []).append(item)
        self.by_id = {i.item_id: i for i in items}
        self.weights = {c: [1.0 / (rank + 1) ** 0.8 for rank in range(len(pool))] for c, pool in self.by_category.items()}
        self.everyday = [c for c in CATEGORIES if c in self.by_category and c not in ("health", "lingerie")]

    def browse(self, visitor: Visitor) -> list[CatalogItem]:
        pool = self.by_category[visitor.favourite]
        weights = [w * (3 if i.brand == visitor.brand else 1) for w, i in zip(self.weights[visitor.favourite], pool)]
        return visitor.rng.choices(pool, weights=weights, k=visitor.views)

    def complement(self, visitor: Visitor, category: str) -> CatalogItem | None:
        options = [c for c in COMPLEMENTS.get(category, ()) if c in self.by_category]
        if not options:
            return None
        chosen = visitor.rng.choice(options)
        in_stock = [(i, w) for i, w in zip(self.by_category[chosen], self.weights[chosen]) if i.stock]
        if not in_stock:
            return None
        return visitor.rng.choices([i for i, _ in in_stock], weights=[w for _, w in in_stock])[0]


def draw_visitors(count: int, run: str, seed: int | None, shop: Shop) -> list[Visitor]:
    """Each visitor's draws come from its own generator: reproducible under threads."""
    base = seed if seed is not None else secrets.randbits(32)
    visitors = []
    for n in range(1, count + 1):
        rng = random.Random(f"{base}:{n}")
        favourite = rng.choice(shop.everyday)
        visitors.append(Visitor(
            number=n, anonymous_id=f"sim-{run}-{n}-{secrets.token_hex(16)}", label=f"sim-{run}-{n}",
            accepts=rng.random() < ACCEPT_SHARE,
            device=_pick(rng, DEVICES), locale=_pick(rng, LOCALES), traffic_source=_pick(rng, TRAFFIC_SOURCES),
            favourite=favourite, brand=rng.choice(sorted({i.brand for i in shop.by_category[favourite]})),
            views=rng.randint(*VIEWS), draw=rng.random(), cart_draw=rng.random(), click_draw=rng.random(),
            complement_draw=rng.random(), rng=rng,
        ))
    return visitors


@dataclass(frozen=True)
class Target:
    key: str
    control: str
    variants: tuple[str, ...]

    @property
    def treatments(self) -> tuple[str, ...]:
        return self.variants[1:]


def target_experiment(api: _Api, key: str) -> Target:
    from functions.experiments.schemas import ExperimentIn

    request = urllib.request.Request(f"{api.base}/v1/experiments/{urllib.parse.quote(key)}", headers={"x-api-key": api.key})
    try:
        with urllib.request.urlopen(request, timeout=api.timeout_s) as response:
            experiment = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise SimulationError(f"there is no experiment {key!r}: create and start one (POST /v1/experiments, "
                                  "then PATCH its status to running), or run `make up` with its demo data (hero-banner)") from exc
        raise SimulationError(f"cannot read experiment {key!r}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise SimulationError(f"no running local runtime answers at {api.base} ({exc}): start one with `make up`") from exc
    if experiment.get("status") != "running":
        raise SimulationError(f"experiment {key!r} is {experiment.get('status')}, not running: "
                              f"start it with PATCH /v1/experiments/{key} {{\"status\": \"running\"}}")
    definition = ExperimentIn.model_validate({k: v for k, v in experiment.items() if k in ExperimentIn.model_fields})
    arms = tuple(a.key for a in definition.arms())  # A/B/n, or the full factorial of a multivariate test
    return Target(key=key, control=arms[0], variants=arms)


class Simulation:
    def __init__(self, api: _Api, target: Target, shop: Shop, *, lift: float, base_rate: float) -> None:
        self.api, self.target, self.shop, self.lift, self.base_rate = api, target, shop, lift, base_rate

    def purchase_probability(self, variant: str | None) -> float:
        boost = (1 + self.lift) if variant in self.target.treatments else 1.0
        return min(1.0, max(0.0, self.base_rate * boost))

    def consent(self, visitor: Visitor) -> None:
        purposes = {"analytics": visitor.accepts, "personalization": visitor.accepts}
        self.api.call("PUT", f"/v1/consents/{visitor.anonymous_id}",
                      {"purposes": purposes, "source": "banner", "policy_version": POLICY_VERSION})

    def consents_arrive(self, crowd: list[Visitor], progress: Callable[[str], None]) -> None:
        """Wait until the experiments context knows the first accepted consent (the others are
        behind it in the same queue). Its assignment is that visitor's own: sticky from then on."""
        first = next((v for v in crowd if v.accepts), None)
        if first is None:
            return
        body = {"anonymous_id": first.anonymous_id, "context": {**first.context, "visitor": "new"}}
        started = time.monotonic()
        noted, waits = started, 0
        while True:
            answer = self.api.call("POST", "/v1/assignments", body)
            if answer is not None and answer.get("excluded_reason") != "unknown_visitor":
                return
            waited = time.monotonic() - started
            if waited >= CONSENT_READY_S:
                raise RuntimeBacklogged(
                    f"the experiments context has not received the visitors' consents after {waited:.0f} s: its queue "
                    "is backlogged, so every visitor would be left out of the experiment. The local runtime is busy "
                    "(with `make up`'s demo data, the segment updates of the CDNOW customers keep it busy long after "
                    "the start); try again later, or on an instance started with `persona up --no-demo` after "
                    "creating and starting an experiment (POST /v1/experiments, PATCH its status to running)")
            if time.monotonic() - noted >= 15:
                progress(f"waiting for the consents to reach the experiments context ({waited:.0f} s; its queue is busy)")
                noted = time.monotonic()
            time.sleep(min(CONSENT_POLL_MAX_S, CONSENT_POLL_S * 2**waits))
            waits += 1

    def assign(self, visitor: Visitor) -> Outcome:
        """The hero banner's assignment. The consent reaches the experiments context
        through a queue, so a visitor who accepted waits until it has arrived."""
        body = {"anonymous_id": visitor.anonymous_id, "context": {**visitor.context, "visitor": "new"}}
        deadline = time.monotonic() + CONSENT_WAIT_S
        waits = 0
        while True:
            answer = self.api.call("POST", "/v1/assignments", body)
            if answer is None:
                return Outcome(excluded="error")
            excluded = answer.get("excluded_reason")
            if excluded == "unknown_visitor" and visitor.accepts and time.monotonic() < deadline:
                time.sleep(min(CONSENT_POLL_MAX_S, CONSENT_POLL_S * 2**waits))  # backing off: polls load the runtime too
                waits += 1
                continue
            if excluded:
                return Outcome(excluded=excluded)
            for assignment in answer.get("assignments", []):
                if assignment["experiment"] == self.target.key:
                    return Outcome(variant=assignment["variant"])
            return Outcome(excluded="not_assigned")

    @staticmethod
    def event(visitor: Visitor, type_: str, item: CatalogItem, *, source: str | None = None, **fields: Any) -> dict[str, Any]:
        visitor.events += 1  # the event id makes a resent batch harmless (the collection API deduplicates)
        return {"type": type_, "event_id": f"{visitor.label}-e{visitor.events}", "anonymous_id": visitor.anonymous_id,
                "timestamp": _now(),
                "item_id": item.item_id, "category": item.category, "brand": item.brand,
                "context": {**visitor.context, "page": f"/p/{item.item_id}", **({"traffic_source": source} if source else {})},
                **fields}

    def send(self, visitor: Visitor, events: list[dict[str, Any]]) -> None:
        """One batch, as the storefront's tracker flushes its queue: like `web/store.js`, browsing is
        tracked only with consent. The purchases go from the retailer's order system instead, always
        (an order is part of the service): the storefront cannot send a purchase's value."""
        browsing = [e for e in events if e["type"] != "purchase" and visitor.accepts]
        orders = [e for e in events if e["type"] == "purchase"]
        if browsing:
            self._post("/v1/events", browsing)
        if orders:
            self._post("/v1/server/events", orders, server=True)

    def _post(self, path: str, events: list[dict[str, Any]], *, server: bool = False) -> None:
        """A rejected event counts as a failure, and so does one recorded differently (`changed`: a purchase
        sent by the storefront would be a page view, which results would not count)."""
        answer = self.api.call("POST", path, {"events": events}, server=server) or {}
        if answer.get("withheld"):  # consent is checked at the door; a choice just made travels through a queue
            with self.api.counters.lock:
                self.api.counters.withheld += answer["withheld"]
        for key in ("rejected", "changed"):
            for item in answer.get(key, []):
                self.api.record(f"POST {path}", f"{events[item['index']]['type']} {key} ({'; '.join(item['errors'])})")

    def visit(self, visitor: Visitor) -> Outcome:
        """The hero banner on the home page, a few products, the home page's recommendations
        (sometimes clicked), then a purchase, an abandoned cart or nothing."""
        outcome = self.assign(visitor)
        viewed = self.shop.browse(visitor)
        self.send(visitor, [self.event(visitor, "product_view", item) for item in viewed])
        query = urllib.parse.urlencode({"placement": "home", "anonymous_id": visitor.anonymous_id, "n": 4,
                                        "device": visitor.device, "locale": visitor.locale})
        recommended = self.api.call("GET", f"/v1/recommendations?{query}") or {}
        clickable = [self.shop.by_id[i["item_id"]] for i in recommended.get("items", []) if i.get("item_id") in self.shop.by_id]
        later: list[dict[str, Any]] = []
        if clickable and visitor.click_draw < RECOMMENDATION_CLICK_SHARE:
            later.append(self.event(visitor, "product_view", clickable[0], source="recommendation"))
            viewed.append(clickable[0])
        chosen = ([i for i in viewed if i.stock] or viewed)[-1]
        if visitor.draw < self.purchase_probability(outcome.variant):
            basket = [chosen]
            if visitor.complement_draw < COMPLEMENT_SHARE and (extra := self.shop.complement(visitor, chosen.category)):
                basket.append(extra)
            value = round(sum(i.price for i in basket), 2)
            later += [self.event(visitor, "add_to_cart", item) for item in basket]
            later.append(self.event(visitor, "purchase", chosen, value=f"{value:.2f}", currency="EUR"))
            outcome.purchased, outcome.revenue = True, value
        elif visitor.cart_draw < CART_ABANDON_SHARE:
            later.append(self.event(visitor, "add_to_cart", chosen))
        self.send(visitor, later)
        return outcome


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def simulate(endpoints: Endpoints, *, visitors: int = 200, experiment: str = "hero-banner", lift: float = 0.3,
             base_rate: float = 0.1, seed: int | None = None, workers: int = 16,
             progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Run the visitors against the running instance; the summary of what was sent."""
    if visitors < 1:
        raise ValueError("visitors must be at least 1")
    if lift < -1:
        raise ValueError("lift must be at least -1 (-100 %)")
    if not 0 < base_rate <= 1:
        raise ValueError("base_rate must be in (0, 1]")
    api = _Api(endpoints)
    target = target_experiment(api, experiment)
    shop = Shop(demo_catalog().items)
    run = secrets.token_hex(3)
    crowd = draw_visitors(visitors, run, seed, shop)
    simulation = Simulation(api, target, shop, lift=lift, base_rate=base_rate)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="visitor") as pool:
        # Everyone answers the banner first: the consents travel to the experiments context
        # together, and once the first has arrived few visitors wait for theirs.
        list(pool.map(simulation.consent, crowd))
        progress(f"consent banner answered by {visitors} visitors ({sum(v.accepts for v in crowd)} accepted)")
        simulation.consents_arrive(crowd, progress)
        outcomes: list[Outcome] = []
        step = max(1, -(-visitors // 10))
        for done, outcome in enumerate(pool.map(simulation.visit, crowd), start=1):
            outcomes.append(outcome)
            if done % step == 0 or done == visitors:
                progress(f"{done}/{visitors} visitors ({100 * done // visitors} %), {time.perf_counter() - started:.1f} s")
    elapsed = time.perf_counter() - started

    per_variant: dict[str, dict[str, Any]] = {}
    for name in target.variants:
        members = [o for o in outcomes if o.variant == name]
        bought = [o for o in members if o.purchased]
        per_variant[name] = {
            "units": len(members), "purchases": len(bought), "conversion": _ratio(len(bought), len(members)),
            "revenue": round(sum(o.revenue for o in bought), 2),
            "true_purchase_probability": round(simulation.purchase_probability(name), 4),
        }
    outside = [o for o in outcomes if o.variant is None]
    excluded: dict[str, int] = {}
    for o in outside:
        excluded[o.excluded or "not_assigned"] = excluded.get(o.excluded or "not_assigned", 0) + 1
    smallest = min((v["units"] for v in per_variant.values()), default=0)
    min_units = max(2, min(100, smallest))
    counters = api.counters
    return {
        "run": run,
        "seed": seed,
        "visitors": visitors,
        "consented": sum(v.accepts for v in crowd),
        "experiment": target.key,
        "control": target.control,
        "treatments": list(target.treatments),
        "base_rate": base_rate,
        "true_lift": lift,
        "variants": per_variant,
        "not_in_experiment": {"units": len(outside), "purchases": sum(o.purchased for o in outside), "why": dict(sorted(excluded.items()))},
        "purchases": sum(o.purchased for o in outcomes),
        "revenue": round(sum(o.revenue for o in outcomes), 2),
        "requests": counters.requests,
        "failed_requests": counters.failed,
        "withheld_events": counters.withheld,
        "errors": dict(sorted(counters.errors.items(), key=lambda kv: -kv[1])[:10]),
        "mean_latency_s": api.mean_seconds(),
        "elapsed_s": round(elapsed, 1),
        "results_url": f"{api.base}/v1/experiments/{urllib.parse.quote(target.key)}/results?min_units={min_units}",
        "dashboard_url": f"{api.base}/dashboard.html",
    }


def failure_share(summary: dict[str, Any]) -> float:
    return summary["failed_requests"] / summary["requests"] if summary["requests"] else 0.0


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def render(summary: dict[str, Any]) -> str:
    treatments = ", ".join(summary["treatments"])
    lines = [
        f"persona simulate: {summary['visitors']} visitors (run {summary['run']}) in {summary['elapsed_s']} s; "
        f"{summary['requests']} requests, {summary['failed_requests']} failed",
        f"  consented        {summary['consented']} ({_percent(_ratio(summary['consented'], summary['visitors']))})",
        f"  experiment       {summary['experiment']}: true lift {summary['true_lift']:+.0%} on {treatments}, "
        f"base purchase rate {summary['base_rate']:.0%}",
        f"  {'variant':<24}{'units':>7}{'purchases':>11}{'conversion':>12}{'revenue':>12}",
    ]
    for name, row in summary["variants"].items():
        lines.append(f"  {name:<24}{row['units']:>7}{row['purchases']:>11}{_percent(row['conversion']):>12}{row['revenue']:>12.2f}")
    outside = summary["not_in_experiment"]
    why = ", ".join(f"{k} {v}" for k, v in outside["why"].items()) or "-"
    lines.append(f"  {'not in the test':<24}{outside['units']:>7}{outside['purchases']:>11}   ({why})")
    slowest = sorted(summary["mean_latency_s"].items(), key=lambda kv: -kv[1])[:3]
    lines.append("  mean latency     " + ", ".join(f"{route} {seconds:.2f} s" for route, seconds in slowest))
    if summary.get("withheld_events"):
        lines.append(f"  withheld         {summary['withheld_events']} browsing events (sent before the visitor's consent "
                     "reached the collection API)")
    for error, count in summary["errors"].items():
        lines.append(f"  error            {count} x {error}")
    lines += [
        f"  results          curl -H \"x-api-key: $KEY\" '{summary['results_url']}'",
        f"  dashboard        {summary['dashboard_url']} (Results: {summary['experiment']})",
        "                   aggregated in the background through the queues: complete seconds after the run",
    ]
    return "\n".join(lines)
