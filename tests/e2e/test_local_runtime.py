"""The local runtime in process: it is built from the topology and behaves like AWS's wiring."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from infra.local.runtime import LocalRuntime
from infra.topology import TOPOLOGY
from tests.conftest import visitor
from tests.e2e.conftest import consented, eventually, http

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    with pytest.MonkeyPatch.context():
        local = LocalRuntime(api_port=0, aws_port=0, state_dir=tmp_path_factory.mktemp("state"))
        local.start()
        yield local
        local.stop()


def test_every_resource_of_the_topology_exists(runtime):
    tables = set(runtime.client("dynamodb").list_tables()["TableNames"])
    assert tables == {f"persona-{t.id.replace('_', '-')}" for t in TOPOLOGY.tables}
    buckets = {b["Name"] for b in runtime.client("s3").list_buckets()["Buckets"]}
    assert buckets == {f"persona-{b.id.replace('_', '-')}" for b in TOPOLOGY.buckets}
    queue_urls = set(runtime.client("sqs").list_queues()["QueueUrls"])
    for queue in TOPOLOGY.queues:
        name = f"persona-{queue.id.replace('_', '-')}"
        assert any(u.endswith("/" + name) for u in queue_urls) and any(u.endswith(f"/{name}-dlq") for u in queue_urls)
        attributes = runtime.client("sqs").get_queue_attributes(QueueUrl=runtime.resources.queue_urls[queue.id], AttributeNames=["RedrivePolicy"])
        assert json.loads(attributes["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == queue.max_receive_count
    events = runtime.client("events")
    rules = {r["Name"]: r for r in events.list_rules(EventBusName=TOPOLOGY.bus)["Rules"]}
    for rule in TOPOLOGY.rules:
        found = rules[f"persona-{rule.id.replace('_', '-')}"]
        assert json.loads(found["EventPattern"]) == rule.pattern
        targets = events.list_targets_by_rule(Rule=found["Name"], EventBusName=TOPOLOGY.bus)["Targets"]
        assert [t["Arn"] for t in targets] == [runtime.resources.queue_arns[rule.queue]]
    for bucket in TOPOLOGY.buckets:
        config = runtime.client("s3").get_bucket_notification_configuration(Bucket=f"persona-{bucket.id.replace('_', '-')}")
        arns = [c["QueueArn"] for c in config.get("QueueConfigurations", [])]
        assert arns == [runtime.resources.queue_arns[n.queue] for n in bucket.notifications]


def test_every_route_reaches_its_function(runtime):
    api = runtime.endpoints.api_url
    admin = {"x-api-key": runtime.endpoints.admin_api_key, "x-persona-server-key": runtime.server_key}  # staff's and the backend's
    for route in TOPOLOGY.routes:
        path = route.path.replace("{", "").replace("}", "")  # any value for path parameters
        status, body = http(route.method, api + path, {"events": [{}]} if route.method == "POST" else None, headers=admin)
        # Whatever the answer, it came from the route's handler, not the gateway's "no route".
        assert status < 500, (route, status, body)
        assert not (isinstance(body, dict) and body.get("error", {}).get("code") in {"route_not_found", "method_not_allowed", "forbidden"})


def test_a_poison_message_is_retried_alone_then_dead_lettered(runtime):
    sqs = runtime.client("sqs")
    queue_url = runtime.resources.queue_urls["profiles_interactions"]
    dlq_url = runtime.resources.dlq_urls["profiles_interactions"]
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"not": "an EventBridge event"}')
    now = datetime.now(UTC).isoformat()
    neighbour = consented(runtime.endpoints, visitor("anon-poison-neighbour"))  # browsing is stored only with consent
    http("POST", runtime.endpoints.api_url + "/v1/events", {"events": [{"type": "page_view", "anonymous_id": neighbour, "timestamp": now}]})

    def dead_lettered():
        return sqs.receive_message(QueueUrl=dlq_url, AttributeNames=["All"], WaitTimeSeconds=1).get("Messages")

    (message,) = eventually(dead_lettered, timeout_s=30)
    assert message["Body"] == '{"not": "an EventBridge event"}'
    # It was received max_receive_count times before SQS moved it.
    assert int(message["Attributes"]["ApproximateReceiveCount"]) >= TOPOLOGY.queue("profiles_interactions").max_receive_count
    status, profile = http("GET", runtime.endpoints.api_url + f"/v1/profiles/{neighbour}", headers={"x-api-key": runtime.endpoints.admin_api_key})
    assert status == 200 and profile["interactions"]["total"] == 1  # the good neighbour counted once
    assert runtime.dispatcher.stats["profiles_interactions.failed"] >= TOPOLOGY.queue("profiles_interactions").max_receive_count


def test_the_local_order_system_sends_a_checkouts_purchases_from_the_backend(runtime):
    """POST /local/orders plays the retailer's order system for the demo shop: each line becomes a purchase sent to
    /v1/server/events as the backend (only it may send purchases with their value), so profiles and results count them."""
    api, admin = runtime.endpoints.api_url, {"x-api-key": runtime.endpoints.admin_api_key}

    def purchases(profile_id):
        status, profile = http("GET", f"{api}/v1/profiles/{profile_id}", headers=admin)
        return profile["interactions"]["by_type"] if status == 200 else None

    buyer = visitor("anon-local-order")
    order = {"anonymous_id": buyer, "order_id": "o-local-1", "lines": [
        {"item_id": "sku-1001", "category": "running-shoes", "brand": "Stride", "value": 89.9, "currency": "EUR"},
        {"item_id": "sku-3001", "value": "12.50", "currency": "EUR"}]}
    status, answer = http("POST", api + "/local/orders", order)  # the collection API's answer
    assert (status, answer["accepted"], answer["rejected"], answer["changed"]) == (202, 2, [], [])
    assert http("POST", api + "/local/orders", order)[0] == 202  # sent again (the same order id): the same purchases
    eventually(lambda: purchases(buyer) == {"purchase": 2}, timeout_s=20)  # purchases, not page views

    # With the customer's session the purchases name the customer; with another's, they are the visitor's alone.
    customer, other = "C-LOCAL-ORDER", "C-LOCAL-ORDER-OTHER"
    session = {"X-Persona-Session": runtime.storefront_session(customer)}
    line = [{"item_id": "sku-2001", "value": 149, "currency": "EUR"}]
    assert http("POST", api + "/local/orders", {"anonymous_id": visitor("anon-local-order-2"), "customer_id": customer, "lines": line},
                session)[0] == 202
    eventually(lambda: purchases(customer) == {"purchase": 1}, timeout_s=20)
    unproven = visitor("anon-local-order-3")
    unproven_order = {"anonymous_id": unproven, "customer_id": other, "order_id": "o-local-3", "lines": line}
    assert http("POST", api + "/local/orders", unproven_order, session)[0] == 202
    assert http("POST", api + "/local/orders", unproven_order)[0] == 202  # the same order without a session: the same purchase
    eventually(lambda: purchases(unproven) == {"purchase": 1}, timeout_s=20)
    assert http("GET", f"{api}/v1/profiles/{other}", headers=admin)[0] == 404
    assert purchases(buyer) == {"purchase": 2}  # the order sent twice at first: still counted once

    # Strict: anything else is a 400 with the API's error shape (never a 5xx), a bad session a 401.
    good_line = {"item_id": "sku-1", "value": 1, "currency": "EUR"}
    bad = [b"{not json", b"", b"[]", b"null", {}, {"lines": [good_line]}, {"anonymous_id": "anon-1", "lines": [good_line]},
           {"anonymous_id": 5, "lines": [good_line]}, {"anonymous_id": buyer}, {"anonymous_id": buyer, "lines": []},
           {"anonymous_id": buyer, "lines": [good_line] * 101}, {"anonymous_id": buyer, "lines": ["sku-1"]},
           {"anonymous_id": buyer, "lines": [good_line], "total": 1}, {"anonymous_id": buyer, "customer_id": "", "lines": [good_line]},
           {"anonymous_id": buyer, "order_id": "x" * 65, "lines": [good_line]},
           *({"anonymous_id": buyer, "lines": [{**good_line, **change}]} for change in (
               {"value": -1}, {"value": 1.005}, {"value": "abc"}, {"value": True}, {"value": None}, {"value": 1e30}, {"value": "NaN"},
               {"currency": "eur"}, {"currency": None}, {"item_id": ""}, {"item_id": None}, {"brand": 7}, {"category": "x" * 129},
               {"price": 1}))]
    for body in bad:
        status, answer = http("POST", api + "/local/orders", body)
        assert status == 400 and answer["error"]["code"] == "invalid_request" and answer["error"]["message"], (body, answer)
    status, answer = http("POST", api + "/local/orders", order, {"X-Persona-Session": "not-a-session"})
    assert status == 401 and answer["error"]["code"] == "invalid_session"
    assert http("GET", api + "/local/orders")[0] == 405
    assert not [p for p in http("GET", api + "/v1/openapi.json")[1]["paths"] if p.startswith("/local/")]  # not a Persona route
