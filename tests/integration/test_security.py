"""Security over moto: admin routes refuse callers without the key, one person's privacy request
never reaches another's data, bodies have limits, and no personal data reaches logs or events."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import logging
import re
import zipfile

import pytest

from functions.privacy.store import privacy_store
from infra.local.gateway import MAX_BODY_BYTES, Gateway
from infra.topology import TOPOLOGY
from tests.integration.test_crm_imports import drop
from tests.integration.test_privacy import aws_context, submit, token_for, verify

ADMIN_KEY = "the-right-key-" + "x" * 20
ADMIN_ROUTES = [r for r in TOPOLOGY.routes if r.auth == "admin"]


def _concrete(path: str) -> str:
    """A route path with every parameter filled with a value each handler's pattern accepts."""
    return re.sub(r"\{\w+\}", "abc123", path)


@pytest.fixture
def gateway(aws):
    """The local API Gateway stand-in on a free port, in this process (so it shares the moto of `aws`)."""
    served = Gateway(TOPOLOGY, aws.invoker, host="127.0.0.1", port=0, api_key=ADMIN_KEY, web_root=None)
    served.start()
    yield served
    served.stop()


def call(gateway, method: str, path: str, headers: dict | None = None, body: bytes | None = None) -> tuple[int, dict | None]:
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"content-type": "application/json", **(headers or {})})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        connection.close()


# ---------------------------------------------------------------- admin routes


def test_there_are_admin_routes_for_every_staff_context():
    assert {TOPOLOGY.function(r.function).context for r in ADMIN_ROUTES} == {"profiles", "privacy", "recommend", "experiments", "results"}


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_admin_route_refuses_a_missing_or_wrong_key_with_a_json_403(gateway, route):
    body = b"{}" if route.method in ("POST", "PUT", "PATCH") else None
    path = _concrete(route.path)
    wrong = [{}, {"x-api-key": ""}, {"x-api-key": "wrong"}, {"x-api-key": ADMIN_KEY.upper()}, {"x-api-key": ADMIN_KEY[:-1]},
             {"authorization": f"Bearer {ADMIN_KEY}"}, {"x-api-key": ADMIN_KEY + " "}]
    for headers in wrong:
        status, answer = call(gateway, route.method, path, headers, body)
        assert status == 403 and answer["error"]["code"] == "forbidden", (headers, status, answer)
    status, answer = call(gateway, route.method, f"{path}?x-api-key={ADMIN_KEY}", {}, body)  # not from the query string
    assert status == 403, answer
    status, answer = call(gateway, route.method, path, {"x-api-key": ADMIN_KEY}, body)
    assert status != 403 and status < 500, (status, answer)  # the handler answered (200, 400 or 404 for made-up ids)


def test_public_routes_need_no_key(gateway):
    assert call(gateway, "GET", "/healthz")[0] == 200
    assert call(gateway, "GET", "/v1/consents/C-1")[0] == 200


# ---------------------------------------------------------------- one person's request, another person's data


@pytest.fixture
def two_people(aws):
    """Anna (C-1001, with CRM data and browsing) and Ben (C-1002), each with a verified access request."""
    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")
    for subject, anonymous in (("C-1001", "anon-a1"), ("C-1002", "anon-b2")):
        aws.api("PUT", f"/v1/consents/{subject}", {"purposes": {"personalization": True, "analytics": True}, "source": "banner",
                                                   "policy_version": "v1"})
        aws.api("POST", "/v1/events", {"events": [
            {"type": "identify", "anonymous_id": anonymous, "customer_id": subject, "timestamp": "2026-11-20T10:00:00Z"},
            {"type": "product_view", "customer_id": subject, "item_id": f"sku-of-{subject}", "timestamp": "2026-11-20T10:01:00Z"}]})
    aws.pump()
    anna, ben = submit(aws, "C-1001"), submit(aws, "C-1002")
    return anna, ben


def test_one_persons_token_opens_nothing_of_another_persons_request(aws, two_people):
    anna, ben = two_people
    anna_token, ben_token = token_for(aws, anna), token_for(aws, ben)
    # Anna cannot confirm Ben's request with her token: it stays unverified, nothing happens to his data.
    status, body = aws.api("POST", f"/v1/privacy-requests/{ben}/verification", {"token": anna_token})
    assert status == 403 and body["error"]["code"] == "invalid_token"
    assert privacy_store().get_request(ben).status == "pending_verification"
    verify(aws, anna)
    verify(aws, ben)
    # Ben's finished request: with Anna's token a 403 that says nothing about it, with no link.
    status, body = aws.api("GET", f"/v1/privacy-requests/{ben}?token={anna_token}")
    assert status == 403 and set(body) == {"error"} and ben not in json.dumps(body) and "C-1002" not in json.dumps(body)
    # Without a token anyone with the id sees the status only: no subject, contact or link.
    status, body = aws.api("GET", f"/v1/privacy-requests/{ben}")
    assert status == 200 and set(body) == {"request_id", "type", "status", "received_at", "due_at", "completed_at", "download_url"}
    assert body["download_url"] is None and "C-1002" not in json.dumps(body) and "@" not in json.dumps(body)
    # A token of a request that does not exist is not a way to probe ids either.
    assert aws.api("GET", f"/v1/privacy-requests/{'f' * 32}?token={anna_token}")[0] == 404
    # Each token opens its own request's bundle, and that bundle holds only its own person.
    anna_view = aws.api("GET", f"/v1/privacy-requests/{anna}?token={anna_token}")[1]
    ben_view = aws.api("GET", f"/v1/privacy-requests/{ben}?token={ben_token}")[1]
    assert f"requests/{anna}/" in anna_view["download_url"] and ben not in anna_view["download_url"]
    anna_bundle = _bundle_text(aws, anna)
    assert "C-1001" in anna_bundle and "anna.schmidt@example.de" in anna_bundle and "sku-of-C-1001" in anna_bundle
    for bens in ("C-1002", "anon-b2", "ben@example.com", "Miller", "sku-of-C-1002", ben):
        assert bens.lower() not in anna_bundle.lower(), bens
    assert "C-1001" not in _bundle_text(aws, ben) and f"requests/{ben}/" in ben_view["download_url"]


def _bundle_text(aws, request_id: str) -> str:
    key = privacy_store().get_request(request_id).export_key
    body = aws.client("s3").get_object(Bucket=aws.name("bucket", "exports"), Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return "\n".join(archive.read(name).decode() for name in archive.namelist())


def test_changing_one_persons_consent_leaves_everyone_elses_alone(aws):
    aws.api("PUT", "/v1/consents/C-1001", {"purposes": {"personalization": True, "email_marketing": True}, "source": "banner",
                                           "policy_version": "v1"})
    before = aws.api("GET", "/v1/consents/C-1001")[1]
    changes = aws.capture("ConsentChanged")
    for subject in ("C-1002", "C-10011", "c-1001", "anon-C-1001", "C-1001.", "C-100"):
        status, _ = aws.api("PUT", f"/v1/consents/{subject}", {"purposes": {"personalization": False, "email_marketing": False},
                                                                "source": "privacy_centre", "policy_version": "v1"})
        assert status == 200, subject
    assert aws.api("GET", "/v1/consents/C-1001")[1] == before
    assert all(data["subject_id"] != "C-1001" for _, data in changes())
