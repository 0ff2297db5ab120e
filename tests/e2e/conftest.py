from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def signed_in(api_url: str, customer_id: str) -> dict[str, str]:
    """The header that proves a customer (shared/trust.py), from the local runtime's stand-in for the retailer's
    sign-in (POST /local/storefront-sessions), as the demo shop gets it."""
    status, answer = http("POST", api_url + "/local/storefront-sessions", {"customer_id": customer_id})
    assert status == 200, answer
    return {answer["header"]: answer["session"]}


def backend(endpoints: dict[str, Any]) -> dict[str, str]:
    """The header of the retailer's backend on `/v1/server/` routes locally (an IAM signature in AWS)."""
    return {"x-persona-server-key": endpoints["server_key"]}


def eventually(check, timeout_s: float = 20.0, interval_s: float = 0.2):
    """Poll `check` until it returns something truthy (queues are asynchronous)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            last = exc  # a busy local instance (an import in the background) is "not yet", not a failure
        else:
            if last:
                return last
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s; last value: {last!r}")


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (its own browser downloads are not used)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (make install installs it where apt-get can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()
