"""Experiment assignment throughput in process: `assign_all` against bare FNV-1a hashing.

For --units unit ids ("anon-" + 16 hex digits, like a storefront visitor id) and
three running experiments (one alone, two sharing a layer), with a 5 % global
holdout, measures in the same run:
- a bare loop of `fnv1a32` over the same unit ids (the baseline: one hash per unit),
- `assign_all` for every unit (holdout, layer and variant hashing, sticky lookup),
and prints assignments/s (one assignment = one unit x one experiment), hashes/s and
their ratio. Goal: >= 200,000 assignments/s.

    .venv/bin/python bench/assign.py [--units 200000] [--repeat 3]
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
    return [f"anon-{rng.getrandbits(64):016x}" for _ in range(count)]


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
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
    print(json.dumps({"assignments_per_s": round(rate), "baseline_hashes_per_s": round(hash_rate),
                      "ratio": round(rate / hash_rate, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
