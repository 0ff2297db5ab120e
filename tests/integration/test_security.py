"""Security over moto: admin routes refuse callers without the key, one person's privacy request
never reaches another's data, bodies have limits, and no personal data reaches logs or events."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import logging
import re
import urllib.parse
import zipfile

import pytest

from functions.privacy.store import privacy_store
from infra.local.gateway import MAX_BODY_BYTES, Gateway
from infra.topology import TOPOLOGY
from tests.conftest import visitor
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
    assert call(gateway, "GET", f"/v1/consents/{visitor('anon-public')}")[0] == 200  # a visitor's id is its own proof
    # Not a key, but a customer's session: "C-1" is not a visitor's secret.
    status, body = call(gateway, "GET", "/v1/consents/C-1")
    assert status == 401 and body["error"]["code"] == "session_required"


# ---------------------------------------------------------------- one person's request, another person's data


ANON_A1, ANON_B2 = visitor("anon-a1"), visitor("anon-b2")


@pytest.fixture
def two_people(aws):
    """Anna (C-1001, with CRM data and browsing) and Ben (C-1002), each with a verified access request."""
    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")
    for subject, anonymous in (("C-1001", ANON_A1), ("C-1002", ANON_B2)):
        session = aws.signed_in(subject)  # each signed in on their own device
        assert aws.api("PUT", f"/v1/consents/{subject}", {"purposes": {"personalization": True, "analytics": True}, "source": "banner",
                                                          "policy_version": "v1"}, headers=session)[0] == 200
        aws.pump()  # the choice reaches profiles before the browsing does (stored only with consent)
        status, body = aws.api("POST", "/v1/events", {"events": [
            {"type": "identify", "anonymous_id": anonymous, "customer_id": subject, "timestamp": "2026-11-20T10:00:00Z"},
            {"type": "product_view", "customer_id": subject, "item_id": f"sku-of-{subject}", "timestamp": "2026-11-20T10:01:00Z"}]},
            headers=session)
        assert status == 202 and body["accepted"] == 2, body
    aws.pump()
    anna, ben = submit(aws, "C-1001"), submit(aws, "C-1002", contact="ben@example.com")
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
    for bens in ("C-1002", ANON_B2, "ben@example.com", "Miller", "sku-of-C-1002", ben):
        assert bens.lower() not in anna_bundle.lower(), bens
    assert "C-1001" not in _bundle_text(aws, ben) and f"requests/{ben}/" in ben_view["download_url"]


def _bundle_text(aws, request_id: str) -> str:
    key = privacy_store().get_request(request_id).export_key
    body = aws.client("s3").get_object(Bucket=aws.name("bucket", "exports"), Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return "\n".join(archive.read(name).decode() for name in archive.namelist())


def test_changing_one_persons_consent_leaves_everyone_elses_alone(aws):
    anna = aws.signed_in("C-1001")
    aws.api("PUT", "/v1/consents/C-1001", {"purposes": {"personalization": True, "email_marketing": True}, "source": "banner",
                                           "policy_version": "v1"}, headers=anna)
    before = aws.api("GET", "/v1/consents/C-1001", headers=anna)[1]
    changes = aws.capture("ConsentChanged")
    # Ids close to hers, each changed by its own holder (a customer's session; a visitor's secret id needs none).
    near = [(s, aws.signed_in(s)) for s in ("C-1002", "C-10011", "c-1001", "anon-C-1001", "C-1001.", "C-100")] + [(visitor("C-1001"), None)]
    for subject, headers in near:
        status, _ = aws.api("PUT", f"/v1/consents/{subject}", {"purposes": {"personalization": False, "email_marketing": False},
                                                                "source": "privacy_centre", "policy_version": "v1"}, headers=headers)
        assert status == 200, subject
    assert aws.api("GET", "/v1/consents/C-1001", headers=anna)[1] == before
    assert all(data["subject_id"] != "C-1001" for _, data in changes())


# ---------------------------------------------------------------- payload limits

EVENT = {"type": "product_view", "anonymous_id": "v-1", "item_id": "sku-1", "timestamp": "2026-11-20T10:00:00Z"}
TOO_BIG = [
    # (method, path, body, status): each over one limit of its route, answered before anything is stored.
    ("POST", "/v1/events", {"events": [EVENT] * 501}, 400),  # at most 500 events a batch
    ("POST", "/v1/events", {"events": [{**EVENT, "context": {"page": "/" + "p" * 2000}}] * 130}, 413),  # at most 256 KB
    ("POST", "/v1/privacy-requests", {"type": "rectification", "subject_id": "C-1", "contact": "a@example.org",
                                      "corrections": {"first_name": "A" * 255}}, 400),
    ("POST", "/v1/privacy-requests", {"type": "access", "subject_id": "C-" + "1" * 127, "contact": "a@example.org"}, 400),
    ("POST", "/v1/privacy-requests", {"type": "access", "subject_id": "C-1", "contact": "a" * 250 + "@example.org"}, 400),
    ("PUT", "/v1/consents/C-1", {"tcf_string": "C" * 10_001, "source": "banner", "policy_version": "v1"}, 400),
    ("POST", "/v1/experiments", {"key": "big", "hypothesis": "h", "primary_metric": "conversion_rate",
                                 "factors": {f"f{i}": [f"l{j}" for j in range(10)] for i in range(8)}}, 400),
    ("POST", "/v1/experiments", {"key": "wide", "hypothesis": "h", "primary_metric": "conversion_rate",
                                 "variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}],
                                 "targeting": {"segments": [f"s{i}" for i in range(51)]}}, 400),
    ("PUT", "/v1/imports/mappings/customers/shop", {"columns": {f"c{i}": "x" for i in range(65)}}, 400),
    ("PUT", "/v1/experiments/any/conclusion", {"decision": "ship", "summary": "s" * 4001}, 400),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), TOO_BIG, ids=lambda v: v if isinstance(v, str) else None)
def test_each_route_refuses_bodies_over_its_limits_with_a_json_4xx(aws, method, path, body, status):
    answered, answer = aws.api(method, path, body)
    assert answered == status and answer["error"]["code"] in ("invalid_request", "payload_too_large"), (answered, answer)


def test_the_gateway_refuses_more_than_10_mb_before_reading_it(gateway):
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    connection.putrequest("POST", "/v1/events")
    connection.putheader("content-type", "application/json")
    connection.putheader("content-length", str(MAX_BODY_BYTES + 1))
    connection.endheaders()
    connection.send(b'{"events": [')  # the rest never comes: the answer must not wait for it
    response = connection.getresponse()
    assert response.status == 413 and json.loads(response.read())["error"]["code"] == "payload_too_large"
    connection.close()


# ---------------------------------------------------------------- no personal data in logs or events

# Everything personal in the CRM fixture and the privacy request below.
EMAILS = ["anna.schmidt@example.de", "BEN@EXAMPLE.COM", "dora@example.it", "eve@example.es", "nobody@example.org",
          "anna.private@example.org", "Anna.Neu@example.org"]
PHONES = ["+49 171 1234567", "+491711234567", "0044 20 7946 0958", "+442079460958", "+34 600 123 456", "+34600123456"]
NAMES = ["Anna", "Schmidt", "Ben", "Miller", "Chloé", "Dubois", "Dora", "Rossi", "Eve", "García", "Schmidt-Neu"]


def personal_data_patterns() -> dict[str, re.Pattern[str]]:
    """What must never be logged or published: each e-mail and phone raw, lower-cased and as the hex
    digests a careless hash would give (md5, sha1, sha256); each name as a whole word, in any case."""
    found: dict[str, re.Pattern[str]] = {}
    for value in EMAILS + PHONES:
        for variant in {value, value.lower(), value.strip().lower()}:
            found[variant] = re.compile(re.escape(variant), re.IGNORECASE)
            for algorithm in ("md5", "sha1", "sha256"):
                digest = hashlib.new(algorithm, variant.encode()).hexdigest()
                found[f"{algorithm}({variant})"] = re.compile(digest, re.IGNORECASE)
    for name in NAMES:
        found[name] = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
    return found


class _Captured(logging.Handler):
    """Keeps every formatted record (Powertools' JSON line, extras included)."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        if self.formatter is None:  # a plain library logger: its extras too
            line += " " + json.dumps({k: v for k, v in record.__dict__.items() if k not in ("msg", "args")}, default=str)
        self.lines.append(line)


@pytest.fixture
def captured_logs(aws):
    """Every line the functions log (Powertools loggers write JSON to stdout; in Lambda that is CloudWatch)
    and everything else that reaches the root logger at INFO, as Lambda's runtime would ship it."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    aws.invoker.preload(TOPOLOGY.functions)  # every handler's logger exists now
    handlers: list[tuple[logging.Logger, _Captured]] = []
    for logger in [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]:
        formatters = [h.formatter for h in logger.handlers if isinstance(h.formatter, LambdaPowertoolsFormatter)]
        if formatters:
            handlers.append((logger, _Captured(formatters[0])))
    assert {logger.name for logger, _ in handlers} >= {"profiles", "privacy", "recommend", "experiments", "results"}
    handlers.append((logging.getLogger(), _Captured(None)))
    previous = logging.getLogger().level
    logging.getLogger().setLevel(logging.INFO)
    for logger, handler in handlers:
        logger.addHandler(handler)
    yield lambda: [line for _, handler in handlers for line in handler.lines]
    for logger, handler in handlers:
        logger.removeHandler(handler)
    logging.getLogger().setLevel(previous)


@pytest.fixture
def published_events(aws):
    """Every event any context puts on the bus, read from a catch-all rule's queue (the whole entry:
    source, detail type and detail)."""
    sqs, events, bus = aws.client("sqs"), aws.client("events"), aws.name("bus", "persona")
    url = sqs.create_queue(QueueName="test-every-event")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sources = sorted({f"persona.{f.context}" for f in TOPOLOGY.functions})
    events.put_rule(Name="test-every-event", EventBusName=bus, EventPattern=json.dumps({"source": sources}))
    events.put_targets(Rule="test-every-event", EventBusName=bus, Targets=[{"Id": "all", "Arn": arn}])
    seen: list[str] = []

    def read() -> list[str]:
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            seen.extend(m["Body"] for m in batch)
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
        return seen

    return read


def a_realistic_day(aws) -> None:
    """CRM, order and campaign exports; a visitor who browses, logs in and buys; consent; segments; an
    experiment and its assignment; a recommendation; an access request sent to a private address; the
    admin looking at the profile; a few bad requests."""
    from functions.profiles.consumers import segments_handler
    from functions.recommend.publishing import publish_catalog
    from infra.local.demo_catalog import demo_catalog
    from shared.aws.s3 import ObjectStore

    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")
    drop(aws, aws_context(), "orders.csv.gz", "orders/shop.csv.gz")
    drop(aws, aws_context(), "campaign.jsonl", "campaign/spring.jsonl")
    publish_catalog(ObjectStore(aws.name("bucket", "models")), demo_catalog())
    cookie, anna = visitor("v-7f3a9c"), aws.signed_in("C-1001")
    for subject, headers in ((cookie, None), ("C-1001", anna)):
        assert aws.api("PUT", f"/v1/consents/{subject}", {"purposes": {"analytics": True, "personalization": True},
                                                          "source": "banner", "policy_version": "v3"}, headers=headers)[0] == 200
    aws.pump()
    now = "2026-11-20T10:0{}:00Z"
    # The storefront (Anna signs in on the way), Ben's one-click unsubscribe link, and the order system's purchase.
    for route, headers, events in (
        ("/v1/events", anna, [
            {"type": "product_view", "anonymous_id": cookie, "item_id": "sku-2003", "category": "rain-jackets", "timestamp": now.format(0)},
            {"type": "search", "anonymous_id": cookie, "query": "rain jacket", "timestamp": now.format(1)},
            {"type": "identify", "anonymous_id": cookie, "customer_id": "C-1001", "timestamp": now.format(2)},
            {"type": "add_to_cart", "customer_id": "C-1001", "item_id": "sku-2003", "timestamp": now.format(3)}]),
        ("/v1/server/events", None, [
            {"type": "purchase", "customer_id": "C-1001", "value": "129.90", "currency": "EUR", "timestamp": now.format(4)}]),
        ("/v1/events", None, [
            {"type": "unsubscribe", "customer_id": "C-1002", "unsubscribe_token": aws.unsubscribe_token("C-1002"), "timestamp": now.format(5)}]),
    ):
        status, body = aws.api("POST", route, {"events": events}, headers=headers)
        assert status == 202 and not body["rejected"] and not body["changed"], body
    aws.pump()
    segments_handler({"id": "sched-1"}, aws_context())
    aws.api("POST", "/v1/experiments", {"key": "hero-banner", "hypothesis": "h", "primary_metric": "conversion_rate",
                                        "variants": [{"key": "a", "weight": 0.5}, {"key": "b", "weight": 0.5}]})
    aws.api("PATCH", "/v1/experiments/hero-banner", {"status": "running"})
    assert aws.api("POST", "/v1/assignments", {"user_id": "C-1001", "anonymous_id": cookie}, headers=anna)[1]["assignments"]
    assert aws.api("GET", "/v1/recommendations?placement=home&user_id=C-1001", headers=anna)[0] == 200
    # From another address: held without a link (the address must not be logged either) ...
    status, held = aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": "C-1001", "contact": "Anna.Private@example.org"})
    assert status == 202 and privacy_store().get_request(held["request_id"]).verification == "contact_not_on_file"
    # ... from the address on file (in another case): confirmed and answered.
    status, request = aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": "C-1001", "contact": "Anna.Schmidt@Example.DE"})
    assert status == 202
    verify(aws, request["request_id"])
    assert aws.api("GET", f"/v1/privacy-requests/{request['request_id']}?token={token_for(aws, request['request_id'])}")[0] == 200
    profile = aws.api("GET", "/v1/profiles/C-1001")[1]
    assert profile["attributes"]["email"]["value"] == "anna.schmidt@example.de"  # the admin API may show it; logs may not
    # A rectification: the new values reach the profile, not the bus.
    status, request = aws.api("POST", "/v1/privacy-requests", {"type": "rectification", "subject_id": "C-1001", "contact": "anna.schmidt@example.de",
                                                               "corrections": {"email": "Anna.Neu@example.org", "last_name": "Schmidt-Neu"}})
    assert status == 202
    verify(aws, request["request_id"])
    assert aws.api("GET", "/v1/profiles/C-1001")[1]["attributes"]["last_name"]["value"] == "Schmidt-Neu"
    # Bad requests get logged as rejected; what was sent must not be.
    assert aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": "C-1001", "contact": "anna.schmidt@@example.de"})[0] == 400
    assert aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": "anna.schmidt@example.de Schmidt", "contact": "x@example.org"})[0] == 400
    assert aws.api("POST", "/v1/events", {"events": [{"type": "product_view", "customer_id": "C-1001", "item_id": "sku-1",
                                                      "timestamp": now.format(6), "email": "anna.schmidt@example.de"}]},
                   headers=anna)[1]["rejected"]
    aws.pump()


def test_no_personal_data_in_logs_or_published_events(aws, captured_logs, published_events):
    a_realistic_day(aws)
    logs, events = captured_logs(), published_events()
    assert len(logs) > 20 and len(events) > 20  # the scan looked at something
    kinds = {json.loads(e)["detail-type"] for e in events}
    assert kinds >= {"InteractionRecorded", "IdentityLinked", "ConversionRecorded", "ProfileUpdated", "CrmImportCompleted",
                     "ConsentChanged", "ConsentReported", "ExposureLogged", "PrivacyRequestAccepted", "PrivacyTaskCompleted"}
    leaks = [(what, where[:300]) for where in logs + events for what, pattern in personal_data_patterns().items() if pattern.search(where)]
    assert leaks == []


def _outbox_for(aws, request_id: str) -> list[dict]:
    return [m for m in aws.api("GET", "/v1/privacy-outbox")[1] if m["request_id"] == request_id]


def test_a_request_for_someone_else_sent_to_ones_own_address_reveals_nothing(aws):
    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")  # Anna's e-mail on file: anna.schmidt@example.de
    aws.pump()  # profiles reports the fingerprints of the addresses on file to the privacy context
    status, mallory = aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": "C-1001", "contact": "mallory@example.org"})
    status_anna, anna = aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": "C-1001", "contact": "anna.schmidt@example.de"})
    # The same answer either way: it does not tell whether the address is the one on file.
    assert status == status_anna == 202 and mallory["message"] == anna["message"] and set(mallory) == set(anna)
    assert _outbox_for(aws, mallory["request_id"]) == [] and len(_outbox_for(aws, anna["request_id"])) == 1
    held = privacy_store().get_request(mallory["request_id"])
    assert held.status == "pending_verification" and held.verification == "contact_not_on_file"
    # No token exists for it; a forged one is refused, and nothing was exported.
    assert aws.api("POST", f"/v1/privacy-requests/{held.request_id}/verification", {"token": "4102444800.forged"})[0] == 403
    aws.pump()
    assert privacy_store().get_request(held.request_id).export_key is None
    assert [e["step"] for e in aws.api("GET", f"/v1/privacy-requests/{held.request_id}/audit")[1]["entries"]] == ["received"]


def test_an_anonymous_id_linked_to_a_customer_needs_the_customers_address(aws):
    """The visitor's id (a cookie) is no way into the customer's data once it is linked to them."""
    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")
    shared_pc = visitor("anon-shared-pc")
    status, body = aws.api("POST", "/v1/events", {"events": [
        {"type": "identify", "anonymous_id": shared_pc, "customer_id": "C-1001", "timestamp": "2026-11-20T10:00:00Z"}]},
        headers=aws.signed_in("C-1001"))
    assert status == 202 and body["accepted"] == 1, body
    aws.pump()
    _, via_cookie = aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": shared_pc, "contact": "next.user@example.org"})
    assert privacy_store().get_request(via_cookie["request_id"]).verification == "contact_not_on_file"
    _, owner = aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": shared_pc, "contact": "anna.schmidt@example.de"})
    assert privacy_store().get_request(owner["request_id"]).verification == "link_sent"
    # A visitor never linked to anyone: the id is the cookie's secret, the address is theirs to choose.
    _, never = aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": visitor("anon-never-signed-in"), "contact": "v@example.org"})
    assert [m["to"] for m in _outbox_for(aws, never["request_id"])] == ["v@example.org"]


def test_a_customer_without_an_address_on_file_is_verified_by_staff(aws):
    """C-1003's CRM row was quarantined (malformed e-mail): known from orders only, so no address can confirm.
    The privacy team checks who they are another way; the link it is given then opens the answer."""
    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")
    drop(aws, aws_context(), "orders.csv.gz", "orders/shop.csv.gz")
    aws.pump()
    _, created = aws.api("POST", "/v1/privacy-requests", {"type": "access", "subject_id": "C-1003", "contact": "chloe@example.fr"})
    request_id = created["request_id"]
    assert privacy_store().get_request(request_id).verification == "no_contact_on_file" and _outbox_for(aws, request_id) == []
    queue = aws.api("GET", "/v1/privacy-requests?status=pending_verification")[1]["requests"]
    assert [r["verification"] for r in queue if r["request_id"] == request_id] == ["no_contact_on_file"]
    assert aws.api("POST", f"/v1/privacy-requests/{request_id}/staff-verification", {"note": "short"})[0] == 400
    status, verified = aws.api("POST", f"/v1/privacy-requests/{request_id}/staff-verification",
                               {"note": "Called back on the phone number of her last order; date of birth matched."})
    assert status == 200, verified
    assert verified["request"]["status"] == "in_progress" and verified["request"]["verification"] == "by_staff"
    assert aws.api("POST", f"/v1/privacy-requests/{request_id}/staff-verification", {"note": "once more, by mistake"})[0] == 409
    aws.pump()
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(verified["status_link"]).query)["token"][0]
    view = aws.api("GET", f"/v1/privacy-requests/{request_id}?token={token}")[1]
    assert view["status"] == "completed" and view["download_url"] and "C-1003" in _bundle_text(aws, request_id)
    steps = aws.api("GET", f"/v1/privacy-requests/{request_id}/audit")[1]["entries"]
    assert [e["detail"].get("note") for e in steps if e["step"] == "verified_by_staff"] == [
        "Called back on the phone number of her last order; date of birth matched."]


def test_a_rectified_address_is_the_one_on_file_from_then_on(aws):
    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")
    aws.pump()
    verify(aws, submit(aws, "C-1001", kind="rectification", corrections={"email": "anna.neu@example.org"}))
    aws.pump()
    assert privacy_store().get_request(submit(aws, "C-1001", contact="anna.neu@example.org")).verification == "link_sent"
    assert privacy_store().get_request(submit(aws, "C-1001", contact="anna.schmidt@example.de")).verification == "contact_not_on_file"


def _bundle_text_or_empty(aws, request_id: str) -> str:
    return _bundle_text(aws, request_id) if privacy_store().get_request(request_id).export_key else ""


def test_a_customers_consents_need_their_session_a_visitors_do_not(aws):
    """Anyone may know a customer id: reading or changing a known customer's consents needs the storefront
    session the retailer's sign-in signs for them. A visitor's id is the secret of their cookie."""
    from datetime import UTC, datetime, timedelta

    from shared import sessions

    drop(aws, aws_context(), "customers_semicolon_bom.csv", "customers/crm.csv")
    aws.pump()
    choice = {"purposes": {"email_marketing": True}, "source": "privacy_centre", "policy_version": "v1"}
    key = aws.client("secretsmanager").get_secret_value(SecretId=aws.name("secret", "session_keys"))["SecretString"]
    stale = sessions.issue(key, "C-1001", datetime.now(UTC) - timedelta(days=1))
    refused = {
        "none": ({}, "session_required"),
        "Ben's": (aws.signed_in("C-1002"), "invalid_session"),
        "forged": ({sessions.SESSION_HEADER: "4102444800.forged"}, "invalid_session"),
        "expired": ({sessions.SESSION_HEADER: stale}, "session_expired"),
    }
    before = privacy_store().consent_state("C-1001")
    for what, (headers, code) in refused.items():
        for method, body in (("GET", None), ("PUT", choice)):
            status, answer = aws.api(method, "/v1/consents/C-1001", body, headers=headers)
            assert status == 401 and answer["error"]["code"] == code, (what, method, answer)
            assert "history" not in answer
    assert privacy_store().consent_state("C-1001") == before  # nothing changed
    status, view = aws.api("PUT", "/v1/consents/C-1001", choice, headers={"x-persona-session": aws.signed_in("C-1001")[sessions.SESSION_HEADER]})
    assert status == 200 and view["purposes"]["email_marketing"]["source"] == "privacy_centre"
    assert aws.api("GET", "/v1/consents/C-1001", headers=aws.signed_in("C-1001"))[0] == 200
    # A visitor's banner choice needs no session.
    assert aws.api("PUT", f"/v1/consents/{visitor('anon-5f2c9d')}", {**choice, "source": "banner"})[0] == 200


def test_with_a_customer_id_pattern_an_id_not_heard_of_yet_is_a_customers(aws, monkeypatch):
    """`-c customer_id_pattern=^C-[0-9]+$`: nobody can set a future customer's consents or file for them first."""
    from shared import settings

    monkeypatch.setenv("CUSTOMER_ID_PATTERN", "^C-[0-9]+$")
    settings.reset()
    choice = {"purposes": {"email_marketing": True}, "source": "banner", "policy_version": "v1"}
    status, body = aws.api("PUT", "/v1/consents/C-5000", choice)
    assert status == 401 and body["error"]["code"] == "session_required"
    assert aws.api("PUT", "/v1/consents/C-5000", choice, headers=aws.signed_in("C-5000"))[0] == 200
    assert aws.api("PUT", f"/v1/consents/{visitor('anon-5f2c9d')}", choice)[0] == 200  # a visitor's id: not of that shape
    _, created = aws.api("POST", "/v1/privacy-requests", {"type": "erasure", "subject_id": "C-5000", "contact": "first@example.org"})
    assert privacy_store().get_request(created["request_id"]).verification == "no_contact_on_file"
    assert _outbox_for(aws, created["request_id"]) == []
