"""How long a shopper's banner choice takes to open the door to their browsing, on a running instance.

Consent is enforced where events arrive (`POST /v1/events` withholds browsing of a subject without
analytics or personalization consent), from a projection of `ConsentChanged` the profiles context
keeps. For --visitors fresh visitor ids, one after another: PUT the banner's choice, then send one
probe event every 0.1 s until the answer withholds nothing. Prints the time from the PUT to the first
probe stored (p50, p90, max) against the round trip of the PUT itself, measured in the same run.
Run it right after `make up` to see it while the demo imports (the case that matters), or later.

    .venv/bin/python bench/consent_latency.py [--visitors 10] [--pause 3] [--timeout 60] [--state-dir .persona]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.local.runtime import read_state  # noqa: E402
from shared.trust import new_visitor_id  # noqa: E402

CHOICE = {"purposes": {"analytics": True, "personalization": True}, "source": "banner", "policy_version": "bench"}


def call(method: str, url: str, body: object) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def one_visitor(api: str, timeout_s: float) -> tuple[float, float]:
    """(seconds until browsing is stored, seconds the PUT took)."""
    visitor = new_visitor_id()
    started = time.perf_counter()
    call("PUT", f"{api}/v1/consents/{visitor}", CHOICE)
    put_s = time.perf_counter() - started
    probe = {"events": [{"type": "page_view", "anonymous_id": visitor, "event_id": f"bench-{visitor[:24]}",
                         "timestamp": datetime.now(UTC).isoformat()}]}
    while time.perf_counter() - started < timeout_s:
        if call("POST", f"{api}/v1/events", probe)["withheld"] == 0:
            return time.perf_counter() - started, put_s
        time.sleep(0.1)
    return float("inf"), put_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between visitors")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--state-dir", type=Path, default=Path(".persona"))
    args = parser.parse_args(argv)
    api = read_state(args.state_dir).api_url
    open_s, put_s = [], []
    for n in range(args.visitors):
        waited, put = one_visitor(api, args.timeout)
        open_s.append(waited)
        put_s.append(put)
        print(f"visitor {n + 1:>3}: browsing stored {waited:6.2f} s after the choice (the PUT took {put * 1000:.0f} ms)", flush=True)
        time.sleep(args.pause)
    ordered = sorted(open_s)
    p50, p90 = statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    baseline = statistics.median(put_s)
    print(f"consent to stored browsing  p50 {p50:.2f} s  p90 {p90:.2f} s  max {ordered[-1]:.2f} s   "
          f"PUT round trip p50 {baseline * 1000:.0f} ms   (p50 ratio {p50 / baseline:.1f}x)")
    return 0 if ordered[-1] != float("inf") else 1


if __name__ == "__main__":
    sys.exit(main())
