"""Experiment assignment throughput in process: `assign_all` against bare FNV-1a hashing.

For --units unit ids ("anon-" + 32 hex digits, like a storefront visitor id: a 128-bit secret) and
three running experiments (one alone, two sharing a layer), with a 5 % global
holdout, measures in the same run:
- a bare loop of `fnv1a32` over the same unit ids (the baseline: one hash per unit),
- `assign_all` for every unit (holdout, layer and variant hashing, sticky lookup),
and prints assignments/s (one assignment = one unit x one experiment), hashes/s and
their ratio. Goal: >= 200,000 assignments/s.

Then the API handler's compute: `POST /v1/assignments` through the real resolver
(validation, consent rule, targeting, sticky lookup, response) with the table and the
bus replaced by in-memory stand-ins, p50/p99 over --requests calls, against
`assign_all` alone for the same units.

    .venv/bin/python bench/assign.py [--units 200000] [--repeat 3] [--requests 5000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions.experiments.assignment import (  # noqa: E402
    ExperimentSpec,
    ExperimentStatus,
    Variant,
    assign_all,
    fnv1a32,
    layer_ranges,
)

GOAL_ASSIGNMENTS_PER_S = 200_000
HOLDOUT_SHARE = 0.05


def experiments() -> list[ExperimentSpec]:
    """Three running tests: a homepage banner alone, two product-page tests sharing a layer."""
    def spec(key: str, weights: tuple[float, ...], **fields) -> ExperimentSpec:
        variants = tuple(Variant(f"v{i}", weight) for i, weight in enumerate(weights))
        return ExperimentSpec(key=key, variants=variants, status=ExperimentStatus.RUNNING, **fields)

    slices = layer_ranges([("pdp-gallery", 0.5), ("pdp-reviews", 0.5)])
    return [
        spec("hero-banner", (0.5, 0.25, 0.25)),
        spec("pdp-gallery", (0.5, 0.5), layer="product-page", layer_range=slices["pdp-gallery"]),
        spec("pdp-reviews", (0.5, 0.5), coverage=0.8, layer="product-page", layer_range=slices["pdp-reviews"]),
    ]


def unit_ids(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    # 128 random bits: the API takes no visitor id that is not a secret (shared/trust.py).
    return [f"anon-{rng.getrandbits(128):032x}" for _ in range(count)]


def bare_hashing(units: list[str], tests: list[ExperimentSpec]) -> int:
    for unit in units:
        fnv1a32(unit)
    return len(units)


def assign_every_unit(units: list[str], tests: list[ExperimentSpec]) -> int:
    assigned = 0
    for unit in units:
        assigned += len(assign_all(unit, tests, holdout_share=HOLDOUT_SHARE))
    return assigned


def best_of(fn: Callable[[list[str], list[ExperimentSpec]], int], units: list[str],
            tests: list[ExperimentSpec], repeat: int) -> tuple[float, int]:
    best, result = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(units, tests)
        best = min(best, time.perf_counter() - start)
    return best, result


class _MemoryStore:
    """The experiments table's request-path methods, in memory (no I/O in the measurement)."""

    def __init__(self, views) -> None:
        from datetime import UTC, datetime

        from shared.consent import ConsentChanged

        self.views, self.records = views, {}
        self.consent = ConsentChanged(subject_id="x", effective={"analytics": True, "personalization": True},
                                      changed_at=datetime.now(UTC))

    def all(self):
        return self.views

    def unit_state(self, user_id, anonymous_id):
        unit = user_id or anonymous_id
        return unit, {unit: self.consent}, ["rfm:champions"]

    def recorded(self, unit_id):
        return self.records.get(unit_id, {})

    def record(self, unit_id, experiment, variant, index, at):
        self.records.setdefault(unit_id, {})[experiment] = index
        return True


class _NoBus:
    def publish(self, envelopes) -> int:
        return len(envelopes)


def handler_latency(units: list[str], requests: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """p50/p99 (ms) of the API handler and of `assign_all` for the same units."""
    import os
    from datetime import UTC, datetime

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

    from functions.experiments import handlers
    from functions.experiments.schemas import ExperimentView
    from functions.experiments.service import Assigner, spec_of
    from infra.local.gateway import RouteTable, proxy_event
    from infra.topology import TOPOLOGY

    now = datetime.now(UTC)
    base = {"hypothesis": "h", "primary_metric": "conversion_rate", "status": "running", "created_at": now}
    views = [
        ExperimentView(key="hero-banner", seed="hero-banner", **base, variants=[
            {"key": "v0", "weight": 0.5}, {"key": "v1", "weight": 0.25}, {"key": "v2", "weight": 0.25}]),
        ExperimentView(key="pdp-gallery", seed="pdp-gallery", **base, layer="product-page", layer_share=0.5,
                       layer_range=(0.0, 0.5), variants=[{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]),
        ExperimentView(key="pdp-reviews", seed="pdp-reviews", **base, layer="product-page", layer_share=0.5,
                       layer_range=(0.5, 1.0), coverage=0.8, targeting={"devices": ["mobile"]},
                       variants=[{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]),
    ]
    service = Assigner(_MemoryStore(views), _NoBus(), HOLDOUT_SHARE, "eu", refresh_s=3600)
    handlers.assigner = lambda: service  # the handler module looks its assigner up per request
    route, params, _ = RouteTable(TOPOLOGY.routes).match("POST", "/v1/assignments")

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "bench", 512, "bench"
        invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"

    def one_request(unit: str) -> None:
        body = json.dumps({"anonymous_id": unit, "context": {"device": "mobile", "locale": "de-DE"}}).encode()
        event = proxy_event("POST", "/v1/assignments", {"content-type": "application/json"}, body, route, params, "127.0.0.1")
        response = handlers.api_handler(event, Context())
        assert response["statusCode"] == 200, response

    specs = [spec_of(v) for v in views]
    return (_percentiles(lambda u: one_request(u), units[:requests]),
            _percentiles(lambda u: assign_all(u, specs, holdout_share=HOLDOUT_SHARE), units[:requests]))


def _percentiles(call: Callable[[str], object], units: list[str]) -> tuple[float, float]:
    for unit in units[:200]:  # warm-up
        call(unit)
    samples = []
    for unit in units:
        start = time.perf_counter()
        call(unit)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=5000, help="handler calls for the latency percentiles")
    args = parser.parse_args()
    units, tests = unit_ids(args.units), experiments()
    base_s, _ = best_of(bare_hashing, units, tests, args.repeat)
    ours_s, assigned = best_of(assign_every_unit, units, tests, args.repeat)
    assignments = len(units) * len(tests)
    rate, hash_rate = assignments / ours_s, len(units) / base_s
    print(f"{len(units):,} units x {len(tests)} running experiments (2 in one layer), {HOLDOUT_SHARE:.0%} holdout; "
          f"{assigned:,} units-in-experiment")
    print(f"bare fnv1a32 per unit id  {hash_rate:12,.0f} hashes/s       ({base_s:.2f} s)")
    print(f"assign_all                {rate:12,.0f} assignments/s  ({ours_s:.2f} s)  = {rate / hash_rate:.2f}x the "
          f"baseline's rate ({len(units) / ours_s:,.0f} units/s: one unit costs {ours_s / base_s:.1f} bare hashes)")
    print(f"goal >= {GOAL_ASSIGNMENTS_PER_S:,} assignments/s: {'met' if rate >= GOAL_ASSIGNMENTS_PER_S else 'MISSED'}")
    (h50, h99), (a50, a99) = handler_latency(units, args.requests)
    print(f"API handler (in-memory table) p50 {h50:.3f} ms  p99 {h99:.3f} ms   assign_all alone p50 {a50:.4f} ms  "
          f"p99 {a99:.4f} ms   (handler/assign_all p99 ratio {h99 / a99:.0f}x)")
    print(json.dumps({"assignments_per_s": round(rate), "baseline_hashes_per_s": round(hash_rate),
                      "ratio": round(rate / hash_rate, 3), "handler_p50_ms": round(h50, 3), "handler_p99_ms": round(h99, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
