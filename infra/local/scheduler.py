"""Fires topology schedules on a timer with EventBridge's "Scheduled Event" shape."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from infra.local.invoke import Invoker
from infra.local.workers import Workers
from infra.local.provision import ACCOUNT, REGION
from infra.topology import Schedule, Topology

log = logging.getLogger("persona.local.scheduler")


def scheduled_event(schedule: Schedule) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/persona-{schedule.id.replace('_', '-')}"],
        "detail": {},
    }


class Scheduler:
    def __init__(self, topology: Topology, invoker: Invoker) -> None:
        self.topology = topology
        self.invoker = invoker
        self.fired: dict[str, int] = {s.id: 0 for s in topology.schedules}
        self._workers = Workers("schedule", topology.schedules, self._run, join_timeout_s=1)
        self._stop = self._workers.stopping

    def start(self) -> None:
        self._workers.start()

    def stop(self) -> None:
        self._workers.stop()

    def _run(self, schedule: Schedule) -> None:
        function = self.topology.function(schedule.function)
        while not self._stop.wait(schedule.local_interval_s):
            try:
                self.invoker.requests_quiet(max_wait_s=1.0)  # background work yields to API requests
                self.invoker.invoke(function, scheduled_event(schedule))
            except Exception:
                log.exception("schedule %s: %s failed", schedule.id, function.id)
            self.fired[schedule.id] += 1
