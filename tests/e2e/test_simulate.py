"""`persona simulate`: storefront traffic with a known true lift reaches the experiment's results."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys

import pytest

from infra.local.demo import HERO_EXPERIMENT
from infra.local.runtime import Endpoints
from tests.e2e.conftest import eventually, http
from tests.e2e.test_persona_up import REPO_ROOT, start_persona_up

pytestmark = pytest.mark.e2e

# The local runtime is one process and every event also goes through the profiles, recommend
# and results consumers, so a run's pace is the runtime's. 100 visitors keep this test short;
# a base rate of 40 % doubled by the lift (40 % vs 80 %) makes the treatment come out ahead
# reliably with ~40 units per variant (about 4 standard deviations).
VISITORS, BASE_RATE, LIFT, SEED = 100, 0.4, 1.0, 7


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    # Without the demo: its CDNOW import keeps moto busy for a minute (it has a module of its own).
    # The demo's hero-banner experiment is created and started here instead.
    instance = start_persona_up(tmp_path_factory, "--no-demo")
    process, endpoints, state_dir = next(instance)
    try:
        admin = {"x-api-key": endpoints["admin_api_key"]}
        assert http("POST", endpoints["api_url"] + "/v1/experiments", HERO_EXPERIMENT, headers=admin)[0] == 201
        status, started = http("PATCH", endpoints["api_url"] + "/v1/experiments/hero-banner", {"status": "running"}, headers=admin)
        assert status == 200 and started["status"] == "running"
        yield process, endpoints, state_dir
    finally:
        instance.close()  # stops `persona up`


def persona(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "persona.cli", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


def test_simulated_traffic_shows_its_true_lift_in_the_results(running):
    _, endpoints, state_dir = running
    result = persona("simulate", "--visitors", str(VISITORS), "--lift", str(LIFT), "--base-rate", str(BASE_RATE),
                     "--seed", str(SEED), "--json", "--state-dir", str(state_dir), timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"{VISITORS}/{VISITORS} visitors (100 %)" in result.stderr  # progress every 10 %
    summary = json.loads(result.stdout)

    # The summary adds up.
    variants, outside = summary["variants"], summary["not_in_experiment"]
    assert (summary["visitors"], summary["experiment"], summary["control"], summary["treatments"]) == (
        VISITORS, "hero-banner", "control", ["trail-season"])
    assert 0.75 <= summary["consented"] / VISITORS <= 0.95  # ~85 % accept the banner
    in_test = sum(v["units"] for v in variants.values())
    assert in_test + outside["units"] == VISITORS and in_test <= summary["consented"]
    # Why the others are not in the test: the global holdout is decided before consent, so some who
    # refused are counted there; "unknown_visitor" while a refusal is still on its way to the experiments context.
    why = outside["why"]
    assert set(why) <= {"holdout", "no_consent", "unknown_visitor"} and sum(why.values()) == outside["units"]
    assert why.get("no_consent", 0) <= VISITORS - summary["consented"] <= sum(why.values())
    assert summary["purchases"] == sum(v["purchases"] for v in variants.values()) + outside["purchases"]
    assert summary["true_lift"] == LIFT and variants["trail-season"]["true_purchase_probability"] == pytest.approx(BASE_RATE * (1 + LIFT))
    assert not [e for e in summary["errors"] if e.startswith("POST /v1/assignments")]  # every unit's variant is known
    # Every event was taken as sent: the visitors' ids are secrets, and the purchases came from the retailer's
    # order system (the server route with the server key), so none was rejected or turned into a page view.
    assert not [e for e in summary["errors"] if " rejected (" in e or " changed (" in e], summary["errors"]
    assert summary["results_url"].startswith(endpoints["api_url"] + "/v1/experiments/hero-banner/results?min_units=")

    # The results context counts the same units and conversions, through the queues.
    want = {name: (v["units"], v["purchases"]) for name, v in variants.items()}
    admin = {"x-api-key": endpoints["admin_api_key"]}

    def counted():
        status, body = http("GET", endpoints["api_url"] + "/v1/experiments/hero-banner/results?min_units=20", headers=admin)
        overall = body.get("overall") if status == 200 else None
        if not overall:
            return None
        arms = {a["name"]: a for a in [overall["control"], *overall["variants"]]}
        return arms if {k: (a["n"], round(a["n"] * a["mean"])) for k, a in arms.items()} == want else None

    arms = eventually(counted, timeout_s=180, interval_s=2)
    assert arms["trail-season"]["mean"] > arms["control"]["mean"] and arms["trail-season"]["lift"] > 0


def test_an_experiment_that_does_not_exist_is_refused(running):
    _, _, state_dir = running
    result = persona("simulate", "--experiment", "no-such-test", "--visitors", "5", "--state-dir", str(state_dir))
    assert result.returncode == 2 and "no experiment 'no-such-test'" in result.stderr and not result.stdout


def test_without_a_running_instance_it_says_to_run_make_up(tmp_path):
    result = persona("simulate", "--state-dir", str(tmp_path))
    assert result.returncode == 2 and "make up" in result.stderr and not result.stdout

    # A state file left behind by an instance that is gone.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = {f.name: {} if f.type.startswith("dict") else "x" for f in dataclasses.fields(Endpoints)}
    (tmp_path / "local.json").write_text(json.dumps({**state, "api_url": f"http://127.0.0.1:{port}"}))
    result = persona("simulate", "--state-dir", str(tmp_path))
    assert result.returncode == 2 and "make up" in result.stderr and "no running local runtime" in result.stderr
