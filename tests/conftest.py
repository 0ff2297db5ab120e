"""Fixtures shared by every test tier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared import settings
from shared.aws import clients

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"


@pytest.fixture(autouse=True)
def _isolated_aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """No test may reach real AWS: fake credentials, a fixed region, fresh caches.

    End-to-end tests are left alone: the local runtime sets (and restores) the
    environment its handlers run with, for as long as it runs.
    """
    if request.node.get_closest_marker("e2e"):
        yield
        return
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    clients.reset()
    settings.reset()
    yield
    clients.reset()
    settings.reset()


def load_event(name: str) -> dict:
    """A sample Lambda event from `events/` (one JSON file per source and case)."""
    return json.loads((EVENTS_DIR / name).read_text())


def visitor(name: str) -> str:
    """A visitor id for tests that go through the public API: it must be a secret (shared/trust.py), so a readable
    name becomes a long, random-looking id, the same in every run (`anon-anna` -> `anon-anna-<32 hex digits>`)."""
    import hashlib

    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:32]}"
