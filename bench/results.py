"""Results of many cells at once: the vectorized statistics module against a per-cell scipy loop.

An experiment's results page shows every breakdown cell (segment × device × market ×
source). For --cells cells × --variants variants of a conversion metric (the control
first, equal weights, a few cells with a sample-ratio mismatch), measures in the same run:
- a naive loop over cells and treatments calling scipy.stats.ttest_ind_from_stats (Welch),
  scipy.stats.t.ppf for the interval and scipy.stats.chisquare for the SRM check, then
  Holm's correction across all comparisons (the baseline),
- functions/results/statistics.py: `frequentist_cells`, `sample_ratio_mismatch` and
  `holm` on [cells, variants] arrays (what the results API runs),
checks that both agree, and prints both times and their ratio. Goal: < 50 ms for ours.

    .venv/bin/python bench/results.py [--cells 100] [--variants 5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions.results.statistics import (  # noqa: E402
    SRM_THRESHOLD,
    frequentist_cells,
    holm,
    sample_ratio_mismatch,
)

GOAL_MS = 50.0
ALPHA = 0.05


def cells(count: int, variants: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Units and conversions per cell × variant: cells of 500 to 50,000 units, ~4 % conversion, 1 in 20 cells off its split."""
    rng = np.random.default_rng(seed)
    size = rng.integers(500, 50_000, count)
    split = np.full((count, variants), 1.0 / variants)
    split[::20, 0] *= 1.1  # a broken redirect sends the control more traffic
    units = rng.multinomial(size, split / split.sum(axis=1, keepdims=True)).astype(float)
    rates = 0.04 * (1 + rng.normal(0, 0.05, (count, variants)))
    return units, rng.binomial(units.astype(int), rates).astype(float)


def ours(units: np.ndarray, conversions: np.ndarray) -> dict[str, np.ndarray]:
    result = frequentist_cells(units, conversions, conversions, ALPHA)
    return {"p_value": result.p_value, "ci_low": result.abs_ci_low, "ci_high": result.abs_ci_high,
            "srm_p_value": sample_ratio_mismatch(units, np.ones(units.shape[1])), "holm": holm(result.p_value)}


def _holm_by_hand(p_values: list[float]) -> list[float]:
    order = sorted(range(len(p_values)), key=p_values.__getitem__)
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def scipy_loop(units: np.ndarray, conversions: np.ndarray) -> dict[str, np.ndarray]:
    cell_count, variants = units.shape
    p_values, lows, highs, srm = [], [], [], []
    for cell in range(cell_count):
        n, rate = units[cell], conversions[cell] / units[cell]
        sd = np.sqrt(n * rate * (1 - rate) / (n - 1))
        for v in range(1, variants):
            p_values.append(stats.ttest_ind_from_stats(rate[v], sd[v], n[v], rate[0], sd[0], n[0], equal_var=False).pvalue)
            se_t, se_c = sd[v] ** 2 / n[v], sd[0] ** 2 / n[0]
            df = (se_t + se_c) ** 2 / (se_t**2 / (n[v] - 1) + se_c**2 / (n[0] - 1))
            half = stats.t.ppf(1 - ALPHA / 2, df) * np.sqrt(se_t + se_c)
            lows.append(rate[v] - rate[0] - half)
            highs.append(rate[v] - rate[0] + half)
        srm.append(stats.chisquare(n).pvalue)
    shape = (cell_count, variants - 1)
    return {"p_value": np.reshape(p_values, shape), "ci_low": np.reshape(lows, shape), "ci_high": np.reshape(highs, shape),
            "srm_p_value": np.array(srm), "holm": np.reshape(_holm_by_hand(p_values), shape)}


def best_of(fn: Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]], units: np.ndarray, conversions: np.ndarray,
            repeat: int) -> tuple[float, dict[str, np.ndarray]]:
    best, result = float("inf"), {}
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(units, conversions)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--variants", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    units, conversions = cells(args.cells, args.variants)
    ours(units, conversions)  # warm-up: first calls pay for numpy's dispatch caches
    base_s, expected = best_of(scipy_loop, units, conversions, args.repeat)
    ours_s, got = best_of(ours, units, conversions, args.repeat)
    worst = max(float(np.max(np.abs(got[key] - expected[key]) / np.maximum(np.abs(expected[key]), 1e-12))) for key in expected)
    comparisons = args.cells * (args.variants - 1)
    flagged = int((got["srm_p_value"] < SRM_THRESHOLD).sum())
    print(f"{args.cells} cells x {args.variants} variants ({comparisons} comparisons, {int(units.sum()):,} units); "
          f"{flagged} cells flagged for SRM; {int((got['holm'] < ALPHA).sum())} comparisons significant after Holm")
    print(f"scipy, cell by cell      {base_s * 1000:8.2f} ms")
    print(f"statistics (vectorized)  {ours_s * 1000:8.2f} ms   = {base_s / ours_s:.1f}x faster; "
          f"largest relative difference from scipy {worst:.1e}")
    print(f"goal < {GOAL_MS:.0f} ms: {'met' if ours_s * 1000 < GOAL_MS else 'MISSED'}")
    print(json.dumps({"ours_ms": round(ours_s * 1000, 3), "baseline_ms": round(base_s * 1000, 3),
                      "ratio": round(base_s / ours_s, 2), "max_relative_difference": worst}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
