"""Load on the local runtime: tracking events and a CRM import at once, every one accounted for.

Starts `persona up --no-demo` on free ports in a temporary state directory; every visitor
of both phases accepts the consent banner first (the collection API stores browsing only
with consent, checked at the door: the bench waits until the profiles context knows them
all, untimed), then:

1. Baseline, the runtime otherwise idle: GET /healthz (the gateway's floor), then
   --events/10 events through POST /v1/events with the same workers and batches,
   waited for until every one is counted. As in production, the visitors' ids are
   secrets (shared/trust.py) and their purchases (2 % of the events) come from the
   retailer's backend, through POST /v1/server/events with the server key, in batches
   of their own (only the backend sends purchases with their value).
2. Load: a --rows-row orders export (`;`, BOM, quoted fields; every 500th row repeats
   the row before it, every 1000th has an unreadable total) is dropped into the CRM
   drop bucket while --events events are sent through POST /v1/events from --workers
   threads. One batch in a hundred is sent a second time, as a storefront retrying
   after a timeout would; those must not be counted twice.
3. Accounting, with a deadline: the import's report must read rows_read = --rows =
   accepted + duplicates + quarantined with the injected duplicates and bad rows
   exactly; every event of both phases must be counted once on its visitor's profile
   (the interaction counters of each visitor equal what was sent to it, and each event
   id has its dedup marker in the profiles table; a sample is cross-checked through
   GET /v1/profiles/{id}). Downstream work (segment recompute, the recommend and results
   consumers) is not waited for.

Prints requests' p50/p99/max latency and accepted events/s in both phases and their
ratios; exits non-zero if anything is unaccounted for. The runtime is one Python
process (moto in process, one lock per function, consumers yield to API requests),
so these numbers describe the laptop runtime, not AWS.

    .venv/bin/python bench/load.py [--events 10000] [--rows 100000] [--workers 8] [--batch 10] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

MAX_BATCH = 500  # functions/profiles/schemas.py MAX_EVENTS_PER_BATCH
EVENTS_PER_VISITOR = 10
DUPLICATE_EVERY, BAD_EVERY = 500, 1000  # injected into the export
RESEND_EVERY = 100  # batches sent twice
ATTEMPTS = 5
TYPES = (("product_view", 0.6), ("page_view", 0.2), ("add_to_cart", 0.1), ("search", 0.08), ("purchase", 0.02))


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the export
def generate_orders(path: Path, rows: int, customers: int, seed: int = 11) -> dict[str, int]:
    """An orders export with known duplicates and bad rows; returns the report it must produce."""
    rng = random.Random(seed)
    duplicates = quarantined = 0
    previous: list[Any] = []
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["Order ID", "Customer ID", "Order Date", "Total", "Currency", "Quantity", "SKUs"])
        for i in range(rows):
            if i % DUPLICATE_EVERY == DUPLICATE_EVERY // 2 and previous:
                row, duplicates = previous, duplicates + 1
            else:
                total = f"{rng.randrange(100, 50_000) / 100:.2f}"
                if i % BAD_EVERY == 7:
                    total, quarantined = "n/a", quarantined + 1
                row = [f"o-{i:08d}", f"c-{rng.randrange(customers):06d}", f"2025-{1 + i % 12:02d}-{1 + rng.randrange(28):02d}T10:{i % 60:02d}:00Z",
                       total, "EUR", rng.randrange(1, 5), f"sku-{rng.randrange(5000)}; sku-{rng.randrange(5000)}"]
            writer.writerow(row)
            previous = row
    return {"rows_read": rows, "accepted": rows - duplicates - quarantined, "duplicates": duplicates, "quarantined": quarantined}


# ---------------------------------------------------------------- the runtime
class Runtime:
    """`persona up --no-demo` in a subprocess on free ports, as tests/e2e starts it."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.log_path = state_dir / "persona-up.log"
        self.process: subprocess.Popen | None = None
        self.endpoints: dict[str, Any] = {}

    def __enter__(self) -> Runtime:
        started = time.perf_counter()
        self._log = self.log_path.open("w")  # a file, not a pipe: a full pipe would block the server
        self.process = subprocess.Popen(
            [sys.executable, "-m", "persona.cli", "up", "--port", "0", "--aws-port", "0", "--state-dir", str(self.state_dir), "--no-demo"],
            cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT, text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
        state_file = self.state_dir / "local.json"
        deadline = time.monotonic() + 120
        while not state_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise SystemExit(f"persona up did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written in one call; give it a moment to be complete
        self.endpoints = json.loads(state_file.read_text())
        self.ready_s = time.perf_counter() - started
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            log("stopping persona up")
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def aws(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoints["aws_endpoint_url"], region_name=self.endpoints["region"],
                            aws_access_key_id="local", aws_secret_access_key="local",
                            config=Config(read_timeout=120, retries={"mode": "standard", "max_attempts": 5}))


def call(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout_s: float = 120) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


# ---------------------------------------------------------------- the events
STOREFRONT, BACKEND = "/v1/events", "/v1/server/events"


@dataclass
class Phase:
    name: str
    visitors: dict[str, int]  # anonymous id -> events sent to it (each once)
    event_ids: list[str]
    batches: list[tuple[str, list[dict[str, Any]]]]  # (the route it goes to, its events)
    latencies_ms: list[float] = field(default_factory=list)
    accepted: int = 0
    resent_batches: int = 0
    retries: int = 0
    failures: list[str] = field(default_factory=list)
    send_s: float = 0.0
    sent_at: float = 0.0  # monotonic, when the last request answered
    counted_s: float | None = None  # from the last answer to every event counted


def make_events(name: str, run: str, count: int, batch: int, seed: int) -> Phase:
    rng = random.Random(seed)
    # Visitor ids are secrets (the public API takes no other): 128 random bits after a readable prefix.
    visitor_ids = [f"load-{run}-{name}-{v:05d}-{rng.getrandbits(128):032x}" for v in range(max(1, count // EVENTS_PER_VISITOR))]
    types, weights = zip(*TYPES, strict=True)
    now = datetime.now(UTC).isoformat()
    events, visitors = [], dict.fromkeys(visitor_ids, 0)
    for i in range(count):
        visitor = rng.choice(visitor_ids)
        visitors[visitor] += 1
        kind = rng.choices(types, weights)[0]
        item = f"sku-{rng.randrange(5000)}"
        event: dict[str, Any] = {"type": kind, "event_id": f"{run}-{name}-{i:08d}", "anonymous_id": visitor, "timestamp": now}
        if kind != "page_view" and kind != "search":
            event |= {"item_id": item, "category": f"cat-{rng.randrange(40)}", "brand": f"brand-{rng.randrange(80)}"}
        if kind == "search":
            event["query"] = f"running shoes {rng.randrange(50)}"
        if kind == "purchase":
            event |= {"value": f"{rng.randrange(500, 20_000) / 100:.2f}", "currency": "EUR"}
        events.append(event)
    browsing = [e for e in events if e["type"] != "purchase"]
    orders = [e for e in events if e["type"] == "purchase"]  # the retailer's backend's: only it sends their value
    batches = [(STOREFRONT, browsing[i:i + batch]) for i in range(0, len(browsing), batch)]
    batches += [(BACKEND, orders[i:i + batch]) for i in range(0, len(orders), batch)]
    random.Random(seed).shuffle(batches)  # orders arrive among the browsing, as they would
    return Phase(name, {v: n for v, n in visitors.items() if n}, [e["event_id"] for e in events], batches)


def send(api: str, phase: Phase, workers: int, server_key: str) -> None:
    lock = threading.Lock()
    backend = {"x-persona-server-key": server_key}  # the local runtime's stand-in for the backend's IAM signature

    def post(number: int, route: str, events: list[dict[str, Any]]) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            start = time.perf_counter()
            try:
                status, body = call("POST", api + route, {"events": events}, headers=backend if route == BACKEND else None)
            except (urllib.error.URLError, OSError) as exc:  # includes timeouts: the same event ids go again
                status, body = 0, str(exc)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                phase.latencies_ms.append(elapsed)
                # Every event taken as sent: none rejected, none recorded differently (`changed`)
                # (and none withheld at the door for want of consent: every visitor consented first).
                if (status == 202 and body["accepted"] == len(events) and not body["rejected"] and not body.get("changed")
                        and not body.get("withheld")):
                    phase.accepted += len(events)
                    return
                if status == 202 or 400 <= status < 500:
                    phase.failures.append(f"batch {number}: {status} {json.dumps(body)[:300]}")
                    return
                phase.retries += 1
            time.sleep(0.2 * attempt)
        with lock:
            phase.failures.append(f"batch {number}: no 202 after {ATTEMPTS} attempts; last {status} {str(body)[:300]}")

    def resend(number: int, route: str, events: list[dict[str, Any]]) -> None:
        start = time.perf_counter()
        try:
            status, _ = call("POST", api + route, {"events": events}, headers=backend if route == BACKEND else None)
        except (urllib.error.URLError, OSError):
            status = 0
        with lock:
            phase.latencies_ms.append((time.perf_counter() - start) * 1000)
            phase.resent_batches += status == 202

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for number, (route, events) in enumerate(phase.batches):
            pool.submit(post, number, route, events)
            if number % RESEND_EVERY == RESEND_EVERY - 1:
                pool.submit(resend, number, route, events)  # may race the first send: dedup must hold either way
    phase.send_s = time.perf_counter() - start
    phase.sent_at = time.monotonic()


def healthz(api: str, requests: int, workers: int) -> list[float]:
    latencies: list[float] = []

    def probe(_: int) -> None:
        start = time.perf_counter()
        status, _ = call("GET", api + "/healthz")
        assert status == 200, status
        latencies.append((time.perf_counter() - start) * 1000)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(probe, range(requests)))
    return latencies


CONSENT = {"purposes": {"analytics": True, "personalization": True}, "source": "banner", "policy_version": "load-1"}


def consent(api: str, dynamodb: Any, table: str, visitors: list[str], workers: int, deadline: float) -> str | None:
    """Every visitor accepts the banner; returns once the profiles context's consent projection holds them all (what
    the collection API checks at the door), or a problem."""
    def put(visitor: str) -> str | None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                status, body = call("PUT", f"{api}/v1/consents/{visitor}", CONSENT)
            except (urllib.error.URLError, OSError) as exc:
                status, body = 0, str(exc)
            if status == 200:
                return None
            if 400 <= status < 500:
                break
            time.sleep(0.2 * attempt)
        return f"consent of {visitor}: {status} {str(body)[:300]}"

    with ThreadPoolExecutor(workers) as pool:
        failed = [f for f in pool.map(put, visitors) if f]
    if failed:
        return f"{len(failed)} consents failed, e.g. {failed[0]}"
    keys = [{"pk": f"CONSENT#{v}", "sk": "STATE"} for v in visitors]
    while time.monotonic() < deadline:
        try:
            known = len(_batch_get(dynamodb, table, keys, "pk"))
        except (BotoCoreError, ClientError):
            known = 0  # a busy instance: not yet
        if known == len(keys):
            return None
        time.sleep(1)
    return f"only {known:,} of {len(keys):,} consents reached the profiles context by the deadline"


# ---------------------------------------------------------------- accounting
def _batch_get(dynamodb: Any, table: str, keys: list[dict[str, str]], attributes: str) -> list[dict[str, Any]]:
    items = []
    for i in range(0, len(keys), 100):
        request = {table: {"Keys": [{"pk": {"S": k["pk"]}, "sk": {"S": k["sk"]}} for k in keys[i:i + 100]],
                           "ProjectionExpression": attributes, "ConsistentRead": True}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            items += answer["Responses"].get(table, [])
            request = answer.get("UnprocessedKeys") or {}
    return items


def counted(dynamodb: Any, table: str, phase: Phase) -> tuple[int, list[str]]:
    """Events counted on the phase's visitors, and visitors whose count differs from what was sent."""
    keys = [{"pk": f"VISITOR#{v}", "sk": "COUNTS"} for v in phase.visitors]
    totals = {item["pk"]["S"].removeprefix("VISITOR#"): int(item["interactions_total"]["N"])
              for item in _batch_get(dynamodb, table, keys, "pk, interactions_total")}
    wrong = [v for v, n in phase.visitors.items() if totals.get(v, 0) != n]
    return sum(totals.values()), wrong


def markers_missing(dynamodb: Any, table: str, phase: Phase) -> int:
    keys = [{"pk": f"INTERACTION#{e}", "sk": "COUNTED"} for e in phase.event_ids]
    return len(keys) - len(_batch_get(dynamodb, table, keys, "pk"))


def import_report(api: str, admin: dict[str, str], key: str) -> dict[str, Any] | None:
    try:
        status, body = call("GET", api + "/v1/imports?limit=20", headers=admin, timeout_s=30)
    except (urllib.error.URLError, OSError):
        return None  # a busy instance: not yet
    if status != 200:
        return None
    return next((r for r in body["imports"] if r["key"] == key), None)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def latency(samples: list[float]) -> dict[str, float]:
    return {"requests": len(samples), "p50_ms": round(percentile(samples, 0.5), 1), "p99_ms": round(percentile(samples, 0.99), 1),
            "max_ms": round(max(samples, default=float("nan")), 1)}


# ---------------------------------------------------------------- the run
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="events sent during the import (default 10,000)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the orders export (default 100,000)")
    parser.add_argument("--customers", type=int, default=20_000, help="distinct customers in the export (default 20,000)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent senders (default 8)")
    parser.add_argument("--batch", type=int, default=10, help=f"events per request (default 10; the API takes at most {MAX_BATCH})")
    parser.add_argument("--deadline", type=float, default=3600, help="seconds to wait for everything to be accounted for (default 3600)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    if not 1 <= args.batch <= MAX_BATCH:
        parser.error(f"--batch must be between 1 and {MAX_BATCH}")
    if args.events < 10 or args.rows < 1:
        parser.error("--events must be at least 10 and --rows at least 1")

    run = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="persona-load-") as tmp:
        export = Path(tmp) / f"load-{run}.csv"
        expected = generate_orders(export, args.rows, args.customers)
        log(f"export: {args.rows:,} order rows, {export.stat().st_size / 1e6:.1f} MB, expecting {expected}")
        baseline = make_events("base", run, args.events // 10, args.batch, seed=1)
        load = make_events("load", run, args.events, args.batch, seed=2)
        state_dir = Path(tmp) / "state"
        state_dir.mkdir()
        with Runtime(state_dir) as runtime:
            summary = measure(runtime, args, export, expected, baseline, load)
    summary["run"] = run
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        report(summary)
    return 0 if summary["ok"] else 1


def measure(runtime: Runtime, args: argparse.Namespace, export: Path, expected: dict[str, int], baseline: Phase, load: Phase) -> dict[str, Any]:
    endpoints = runtime.endpoints
    api, admin = endpoints["api_url"], {"x-api-key": endpoints["admin_api_key"]}
    table = endpoints["tables"]["profiles"]
    dynamodb = runtime.aws("dynamodb")
    log(f"runtime ready in {runtime.ready_s:.1f} s at {api}")
    deadline = time.monotonic() + args.deadline
    problems: list[str] = []

    def wait_counted(phase: Phase) -> None:
        total, wrong, said = 0, list(phase.visitors), time.monotonic()
        while time.monotonic() < deadline:
            try:
                total, wrong = counted(dynamodb, table, phase)
            except (BotoCoreError, ClientError) as exc:  # a busy instance answering slowly: not yet
                log(f"{phase.name}: counting failed for now ({exc.__class__.__name__})")
            if not wrong:
                phase.counted_s = time.monotonic() - phase.sent_at
                log(f"{phase.name}: all {total:,} events counted {phase.counted_s:.1f} s after the last request")
                return
            if time.monotonic() - said > 60:
                said = time.monotonic()
                log(f"{phase.name}: {total:,} of {len(phase.event_ids):,} events counted so far")
            time.sleep(2)
        problems.append(f"{phase.name}: only {total:,} of {len(phase.event_ids):,} events counted by the deadline; "
                        f"{len(wrong)} visitors off, e.g. {wrong[:3]}")

    # 0. consent: every visitor of both phases accepts the banner (untimed)
    started = time.monotonic()
    problem = consent(api, dynamodb, table, [*baseline.visitors, *load.visitors], args.workers, deadline)
    if problem:
        problems.append(problem)
    log(f"consent: {len(baseline.visitors) + len(load.visitors):,} visitors accepted the banner, known to profiles after "
        f"{time.monotonic() - started:.1f} s")

    # 1. baseline: the runtime otherwise idle
    gateway = healthz(api, 200, args.workers)
    log(f"healthz: {latency(gateway)}")
    send(api, baseline, args.workers, endpoints["server_key"])
    log(f"baseline: {baseline.accepted:,} events in {baseline.send_s:.1f} s, {latency(baseline.latencies_ms)}")
    wait_counted(baseline)

    # 2. load: the import and the events at once
    key = f"orders/{export.name}"
    dropped: dict[str, float] = {}

    def drop() -> None:
        dropped["start"] = time.monotonic()
        runtime.aws("s3").upload_file(str(export), endpoints["drop_bucket"], key)
        dropped["uploaded"] = time.monotonic()

    dropper = threading.Thread(target=drop)
    dropper.start()
    send(api, load, args.workers, endpoints["server_key"])
    dropper.join()
    log(f"load: {load.accepted:,} events in {load.send_s:.1f} s, {latency(load.latencies_ms)}")

    # 3. accounting
    report: dict[str, Any] | None = None
    import_done_s = None
    events_waiter = threading.Thread(target=wait_counted, args=(load,), daemon=True)
    events_waiter.start()
    status = None
    while time.monotonic() < deadline:
        report = import_report(api, admin, key)
        if report and report["status"] != status:
            status = report["status"]
            log(f"import {status} ({time.monotonic() - dropped['start']:.0f} s after the drop)")
        if report and report["status"] in ("completed", "failed"):
            import_done_s = time.monotonic() - dropped["start"]
            log(f"import {report['status']} {import_done_s:.1f} s after the drop: "
                f"{ {k: report[k] for k in ('rows_read', 'accepted', 'duplicates', 'quarantined', 'suppressed', 'duration_ms')} }")
            break
        time.sleep(2)
    events_waiter.join()
    if report is None or report["status"] != "completed":
        problems.append(f"import of {key} not completed by the deadline: {report}")
    else:
        got = {k: report[k] for k in expected}
        if got != expected or report["suppressed"] or report["accepted"] + report["duplicates"] + report["quarantined"] != args.rows:
            problems.append(f"import report {got} (suppressed {report['suppressed']}), expected {expected}")
    log("checking every event id's dedup marker and a sample of profiles through the admin API")
    for phase in (baseline, load):
        problems += [f"{phase.name}: {f}" for f in phase.failures[:5]]
        if phase.accepted != len(phase.event_ids):
            problems.append(f"{phase.name}: {phase.accepted:,} of {len(phase.event_ids):,} events accepted by the API")
        missing = markers_missing(dynamodb, table, phase)
        if missing:
            problems.append(f"{phase.name}: {missing:,} event ids have no dedup marker")
    for visitor in list(load.visitors)[:20]:  # the admin API agrees with the table
        status, profile = call("GET", f"{api}/v1/profiles/{visitor}", headers=admin)
        if status != 200 or profile["interactions"]["total"] != load.visitors[visitor]:
            problems.append(f"GET /v1/profiles/{visitor}: {status}, {profile.get('interactions') if status == 200 else profile}")
            break

    def phase_summary(phase: Phase) -> dict[str, Any]:
        return {"events": len(phase.event_ids), "accepted": phase.accepted, "requests": latency(phase.latencies_ms),
                "events_per_s": round(phase.accepted / phase.send_s, 1), "send_s": round(phase.send_s, 2),
                "resent_batches": phase.resent_batches, "retries": phase.retries,
                "counted_s_after_last_request": None if phase.counted_s is None else round(phase.counted_s, 1)}

    base, under = phase_summary(baseline), phase_summary(load)
    return {
        "ok": not problems, "problems": problems,
        "settings": {"events": args.events, "rows": args.rows, "customers": args.customers, "workers": args.workers, "batch": args.batch},
        "runtime_ready_s": round(runtime.ready_s, 1),
        "healthz": latency(gateway), "baseline": base, "load": under,
        "ratios": {"p99_load_over_baseline": round(under["requests"]["p99_ms"] / base["requests"]["p99_ms"], 2),
                   "p50_load_over_baseline": round(under["requests"]["p50_ms"] / base["requests"]["p50_ms"], 2),
                   "events_per_s_load_over_baseline": round(under["events_per_s"] / base["events_per_s"], 2)},
        "import": {"expected": expected, "report": report and {k: report.get(k) for k in
                   ("status", "rows_read", "accepted", "duplicates", "quarantined", "suppressed", "profiles_written", "duration_ms")},
                   "completed_s_after_drop": None if import_done_s is None else round(import_done_s, 1),
                   "rows_per_s": report and report.get("duration_ms") and round(args.rows / (report["duration_ms"] / 1000))},
    }


def report(s: dict[str, Any]) -> None:
    cfg, base, load, imp = s["settings"], s["baseline"], s["load"], s["import"]
    print(f"load on `persona up` (one process): {cfg['events']:,} events in batches of {cfg['batch']} from {cfg['workers']} threads "
          f"while {cfg['rows']:,} order rows ({cfg['customers']:,} customers) import")
    h = s["healthz"]
    print(f"  GET /healthz, idle          p50 {h['p50_ms']:7.1f} ms  p99 {h['p99_ms']:7.1f} ms  max {h['max_ms']:7.1f} ms  ({h['requests']} requests)")
    for label, phase in (("POST /v1/events, idle", base), ("POST /v1/events + import", load)):
        r = phase["requests"]
        print(f"  {label:<27} p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  max {r['max_ms']:7.1f} ms  ({r['requests']} requests)  "
              f"{phase['events_per_s']:7,.0f} events/s accepted; all counted {phase['counted_s_after_last_request']} s after the last answer")
    ratio = s["ratios"]
    print(f"  under import / idle: p50 {ratio['p50_load_over_baseline']:.2f}x  p99 {ratio['p99_load_over_baseline']:.2f}x  "
          f"throughput {ratio['events_per_s_load_over_baseline']:.2f}x")
    rep = imp["report"] or {}
    print(f"  import: {rep.get('status')} {imp['completed_s_after_drop']} s after the drop (handler {rep.get('duration_ms')} ms, "
          f"{imp['rows_per_s'] or 0:,} rows/s): read {rep.get('rows_read')} = accepted {rep.get('accepted')} + duplicates "
          f"{rep.get('duplicates')} + quarantined {rep.get('quarantined')}; {rep.get('profiles_written')} profiles written")
    print(f"  events: {base['accepted'] + load['accepted']:,} accepted, {base['resent_batches'] + load['resent_batches']} batches "
          f"sent twice, {base['retries'] + load['retries']} retries; each counted once: {'yes' if s['ok'] else 'see below'}")
    if s["ok"]:
        print("  everything accounted for")
    else:
        print("  NOT accounted for:")
        for problem in s["problems"]:
            print(f"    - {problem}")


if __name__ == "__main__":
    sys.exit(main())
