"""Schedules of the topology fire on a timer in the local runtime.

A module of its own: one local runtime per process at a time (moto's state is per process).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from infra.local.runtime import LocalRuntime
from infra.topology import TOPOLOGY, Schedule
from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e


def test_schedules_fire_on_a_timer(tmp_path):
    topology = replace(TOPOLOGY, schedules=(Schedule(id="tick", function="platform_api", expression="rate(1 minute)", local_interval_s=0.2),))
    local = LocalRuntime(topology, api_port=0, aws_port=0, state_dir=tmp_path, web_root=None)
    received = []
    local.invoker._handlers["platform_api"] = lambda event, context: received.append(event)
    with local:
        eventually(lambda: len(received) >= 2, timeout_s=10)
    assert received[0]["detail-type"] == "Scheduled Event" and received[0]["source"] == "aws.events"
    assert local.scheduler.fired["tick"] >= 2


def test_a_taken_port_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        local = LocalRuntime(api_port=0, aws_port=port, state_dir=tmp_path, web_root=None)
        with pytest.raises(OSError, match=f"127.0.0.1:{port} is already in use"):
            local.start()
