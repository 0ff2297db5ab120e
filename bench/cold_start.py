"""Cold-start cost of each Lambda function: imports + init, against bare Python.

For every function of the topology a fresh interpreter imports the handler
module and creates the AWS clients its grants need (what a new container does
before its first event). Each measurement is the median of --runs fresh
processes; the baseline is `python -c pass` measured the same way in the same
run, so the ratio is comparable across machines.

    .venv/bin/python bench/cold_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.topology import TOPOLOGY  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"table": ("resource", "dynamodb"), "bus": ("client", "events"), "bucket": ("client", "s3")}

CHILD = """
import json, resource, sys, time
start = time.perf_counter()
import importlib
module = importlib.import_module({module!r})
getattr(module, {attribute!r})
from shared.aws import clients
for kind, service in {services!r}:
    getattr(clients, kind)(service)
init_ms = (time.perf_counter() - start) * 1000
print(json.dumps({{"init_ms": init_ms, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _wall_ms(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True).stdout
    return (time.perf_counter() - start) * 1000, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-west-1", "POWERTOOLS_TRACE_DISABLED": "true", "PYTHONDONTWRITEBYTECODE": "1"}
    python = sys.executable

    _wall_ms([python, "-c", "pass"], env)  # warm the page cache once
    baseline = statistics.median(_wall_ms([python, "-c", "pass"], env)[0] for _ in range(args.runs))
    print(f"baseline: python -c pass  {baseline:7.1f} ms wall (median of {args.runs})")
    print(f"{'function':<24} {'bundle':<10} {'init ms':>8} {'wall ms':>8} {'ratio':>6} {'RSS MB':>7}")
    for function in TOPOLOGY.functions:
        services = sorted({SERVICES[g.kind] for g in function.grants if g.kind in SERVICES})
        code = CHILD.format(module=function.module, attribute=function.attribute, services=services)
        runs = [_wall_ms([python, "-c", code], env) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        details = [json.loads(r[1]) for r in runs]
        init = statistics.median(d["init_ms"] for d in details)
        rss = max(d["max_rss_mb"] for d in details)
        print(f"{function.id:<24} {function.bundle:<10} {init:8.1f} {wall:8.1f} {wall / baseline:5.1f}x {rss:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
