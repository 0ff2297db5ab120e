"""Dead letters of the local runtime: the alarm, `persona dlq` and `persona redrive`.

In AWS each DLQ has a CloudWatch alarm (>= 1 visible message, infra/constructs/alarms.py)
and an operator redrives with SQS's message move task. Locally `DeadLetterAlarms` watches
every DLQ the same way, logs an ALARM line naming the queue and the command that replays
it, and keeps what it raised (on the object and in `<state_dir>/alarms.json` for
`persona status`); `redrive` moves messages back to their source queue.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from shared.aws import queues

if TYPE_CHECKING:
    from infra.local.runtime import Endpoints

log = logging.getLogger("persona.local.alarms")
ALARMS_FILE = "alarms.json"


class UnknownQueue(ValueError):
    def __init__(self, given: str, valid: Iterable[str]) -> None:
        self.valid = sorted(valid)
        super().__init__(f"no queue {given!r}; valid queues: {', '.join(self.valid)}")


def redrive_command(queue_id: str) -> str:
    return f"persona redrive {queue_id}"


def resolve(given: str, queue_ids: Iterable[str]) -> str:
    """A topology queue id from its id (`results_aggregation`), its name
    (`persona-results-aggregation`) or its DLQ's name (`...-dlq`)."""
    ids = list(queue_ids)
    wanted = given.strip().removesuffix("-dlq").removeprefix("persona-").replace("-", "_")
    if wanted in ids:
        return wanted
    raise UnknownQueue(given, ids)


def local_sqs(endpoints: Endpoints) -> Any:
    return boto3.client(
        "sqs", region_name=endpoints.region, endpoint_url=endpoints.aws_endpoint_url,
        aws_access_key_id="local", aws_secret_access_key="local",
    )


def _name(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def depths(endpoints: Endpoints, *, sqs: Any = None) -> list[dict[str, Any]]:
    """Every consumer queue with its DLQ's depth and alarm state (what `persona dlq` shows)."""
    sqs = sqs or local_sqs(endpoints)
    rows = []
    for queue_id, dlq_url in sorted(endpoints.dead_letter_queues.items()):
        waiting = queues.depth(dlq_url, sqs=sqs)
        rows.append({"queue": queue_id, "dlq": _name(dlq_url), "dead_letters": waiting,
                     "alarm": "ALARM" if waiting else "OK", "redrive": redrive_command(queue_id)})
    return rows


def redrive(endpoints: Endpoints, queue_ids: list[str], *, limit: int | None = None, dry_run: bool = False,
            sqs: Any = None) -> list[dict[str, Any]]:
    """Move dead letters back to their source queues (`limit` per queue); a dry run only counts them."""
    sqs = sqs or local_sqs(endpoints)
    rows = []
    for queue_id in queue_ids:
        dlq_url, url = endpoints.dead_letter_queues[queue_id], endpoints.queues[queue_id]
        waiting = queues.depth(dlq_url, sqs=sqs)
        planned = waiting if limit is None else min(limit, waiting)
        moved = 0 if dry_run or not planned else queues.move(dlq_url, url, limit=planned, sqs=sqs)
        rows.append({"queue": queue_id, "from": _name(dlq_url), "to": _name(url), "dry_run": dry_run,
                     "moved": planned if dry_run else moved, "left": waiting - (planned if dry_run else moved)})
    return rows


def render_depths(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["queue"]) for r in rows)
    lines = [f"{'queue':<{width}}  dead letters  alarm"]
    lines += [f"{r['queue']:<{width}}  {r['dead_letters']:>12}  {r['alarm']}" for r in rows]
    waiting = [r for r in rows if r["dead_letters"]]
    if waiting:
        lines.append("")
        lines += [f"replay after fixing the cause: {r['redrive']}" for r in waiting]
    return "\n".join(lines)


def render_redrive(rows: list[dict[str, Any]]) -> str:
    verb = "would move" if rows and rows[0]["dry_run"] else "moved"
    return "\n".join(f"{r['queue']}: {verb} {r['moved']} message(s) {r['from']} -> {r['to']}"
                     + (f" ({r['left']} left)" if r["left"] else "") for r in rows)


def raised_alarms(state_dir: Path) -> list[dict[str, Any]]:
    """The alarms the running instance raised (empty when none, or none is running)."""
    path = Path(state_dir) / ALARMS_FILE
    return json.loads(path.read_text())["raised"] if path.is_file() else []


class DeadLetterAlarms:
    """Polls every DLQ's depth; OK -> ALARM when a message arrives (logged once, as
    CloudWatch notifies once per state change), ALARM -> OK when it is empty again."""

    def __init__(self, dlq_urls: dict[str, str], sqs: Any, *, interval_s: float = 2.0, state_dir: Path | None = None) -> None:
        self.dlq_urls = dict(dlq_urls)
        self.sqs = sqs
        self.interval_s = interval_s
        self.state_dir = state_dir
        self.state: dict[str, str] = {queue_id: "OK" for queue_id in self.dlq_urls}
        self.raised: list[dict[str, Any]] = []  # every OK -> ALARM transition, oldest first
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dlq-alarms", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + 2)
        if self.state_dir is not None:
            (Path(self.state_dir) / ALARMS_FILE).unlink(missing_ok=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # moto stopping, a slow call: the next round tries again
                if not self._stop.is_set():
                    log.debug("checking the dead-letter queues failed", exc_info=True)

    def check(self) -> list[dict[str, Any]]:
        """One round over every DLQ; returns the alarms it raised."""
        raised, changed = [], False
        with self._lock:
            for queue_id, url in self.dlq_urls.items():
                waiting = queues.depth(url, sqs=self.sqs)
                if waiting and self.state[queue_id] == "OK":
                    alarm = {"queue": queue_id, "dlq": _name(url), "dead_letters": waiting,
                             "at": datetime.now(UTC).isoformat(), "redrive": redrive_command(queue_id)}
                    self.state[queue_id] = "ALARM"
                    raised.append(alarm)
                    changed = True
                    log.error("ALARM %s: %d message(s) dead-lettered in %s; inspect them with `persona dlq`, "
                              "replay them after fixing the cause with `%s`", queue_id, waiting, alarm["dlq"], alarm["redrive"])
                elif not waiting and self.state[queue_id] == "ALARM":
                    self.state[queue_id] = "OK"
                    changed = True
                    log.warning("OK %s: its dead-letter queue is empty again", queue_id)
            self.raised.extend(raised)
            if changed:
                self._save()
        return raised

    def _save(self) -> None:
        if self.state_dir is None:
            return
        Path(self.state_dir).mkdir(parents=True, exist_ok=True)
        path = Path(self.state_dir) / ALARMS_FILE
        partial = path.with_suffix(".tmp")  # `persona status` never reads half a file
        partial.write_text(json.dumps({"state": self.state, "raised": self.raised}, indent=2) + "\n")
        partial.replace(path)
