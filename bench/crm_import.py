"""CRM import throughput and memory: parse + map + validate + aggregate.

Generates an orders export (CSV, `;` delimiter, BOM, quoted fields) of --rows
rows for 100k customers, then measures in the same run:
- plain `csv.reader` reading the same file (the baseline),
- Persona's import pipeline (functions/profiles/crm_import) on it,
and prints rows/s and the ratio. Peak memory is measured in fresh processes
for 100k and --rows rows: it must not grow with the file.

    .venv/bin/python bench/crm_import.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from functions.profiles.crm_import.mapping import ColumnMapping  # noqa: E402
from functions.profiles.crm_import.pipeline import run  # noqa: E402

CUSTOMERS = 100_000


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["Order ID", "Customer ID", "Order Date", "Total", "Currency", "Quantity", "SKUs"])
        for i in range(rows):
            day = 1 + rng.randrange(28)
            writer.writerow([
                f"o-{i:08d}", f"c-{rng.randrange(CUSTOMERS):06d}", f"2025-{1 + i % 12:02d}-{day:02d}T10:{i % 60:02d}:00Z",
                f"{rng.randrange(100, 50_000) / 100:.2f}", "EUR", rng.randrange(1, 5), f"sku-{rng.randrange(5000)}",
            ])


def baseline(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return sum(1 for _ in csv.reader(f, delimiter=";")) - 1


def pipeline(path: Path) -> int:
    profiles = 0

    def on_chunk(chunk):
        nonlocal profiles
        profiles += len(chunk.profiles)

    with path.open("rb") as f:
        tally, _ = run("orders", f, ColumnMapping(), on_chunk=on_chunk, on_quarantine=lambda row: None)
    assert tally.accepted == tally.rows_read, tally
    return tally.rows_read


def best_of(fn, path: Path, repeat: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = fn(path)
        best = min(best, time.perf_counter() - start)
    return best, count


def peak_memory_mb(rows: int) -> float:
    """Peak RSS of a fresh process that generates nothing and imports `rows` rows."""
    code = (
        "import sys, json, resource; sys.path.insert(0, '.');"
        "from bench.crm_import import pipeline; from pathlib import Path;"
        f"pipeline(Path(sys.argv[1])); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        generate(path, rows)
        out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=Path(__file__).resolve().parent.parent,
                             capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders.csv"
        generate(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        base_s, base_rows = best_of(baseline, path, args.repeat)
        ours_s, our_rows = best_of(pipeline, path, args.repeat)
    assert base_rows == our_rows == args.rows
    print(f"file: {args.rows:,} order rows, {size_mb:.0f} MB, {CUSTOMERS:,} customers")
    print(f"csv.reader baseline      {base_rows / base_s:12,.0f} rows/s  ({base_s:.2f} s)")
    print(f"persona import pipeline  {our_rows / ours_s:12,.0f} rows/s  ({ours_s:.2f} s)  = {base_s / ours_s:.2f}x the baseline's speed")
    small, large = peak_memory_mb(100_000), peak_memory_mb(args.rows)
    print(f"peak RSS: {small:.0f} MB for 100,000 rows, {large:.0f} MB for {args.rows:,} rows (ratio {large / small:.2f})")
    print(json.dumps({"rows_per_s": round(our_rows / ours_s), "baseline_rows_per_s": round(base_rows / base_s),
                      "peak_rss_mb_100k": round(small), f"peak_rss_mb_{args.rows}": round(large)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
