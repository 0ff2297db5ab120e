"""Pure pieces of the local runtime: route matching and the Lambda event shapes."""

from __future__ import annotations

import pytest

from infra.local.dispatcher import sqs_event
from infra.local.gateway import RouteTable, proxy_event
from infra.local.scheduler import scheduled_event
from infra.topology import TOPOLOGY, Route, Schedule


def test_route_matching_with_path_parameters_and_methods():
    table = RouteTable(TOPOLOGY.routes)
    route, params, _ = table.match("GET", "/v1/profiles/anon%3A1")
    assert route.function == "profiles_admin" and params == {"profile_id": "anon:1"}
    assert table.match("DELETE", "/v1/profiles/x")[0] is None and table.match("DELETE", "/v1/profiles/x")[2] is True
    assert table.match("GET", "/v1/nowhere") == (None, {}, False)
    assert table.match("GET", "/v1/profiles/a/b")[0] is None  # a parameter never spans segments


def test_proxy_event_shape():
    route = Route("GET", "/v1/imports/{import_id}", "profiles_admin", auth="admin")
    event = proxy_event("GET", "/v1/imports/i-1?limit=5&limit=7", {"x-api-key": "k"}, b"", route, {"import_id": "i-1"}, "127.0.0.1")
    assert event["resource"] == "/v1/imports/{import_id}" and event["path"] == "/v1/imports/i-1"
    assert event["queryStringParameters"] == {"limit": "7"}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5", "7"]}
    assert event["pathParameters"] == {"import_id": "i-1"} and event["body"] is None
    assert event["requestContext"]["requestId"] and event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    binary = proxy_event("POST", "/x", {}, b"\xff\xfe", route, {}, "127.0.0.1")
    assert binary["isBase64Encoded"] is True


def test_sqs_event_shape():
    message = {"MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}", "MD5OfBody": "x", "Attributes": {"ApproximateReceiveCount": "1"},
               "MessageAttributes": {"a": {"StringValue": "v", "DataType": "String"}}}
    (record,) = sqs_event([message], "arn:aws:sqs:eu-west-1:123456789012:q")["Records"]
    assert record["messageId"] == "m1" and record["eventSource"] == "aws:sqs"
    assert record["messageAttributes"]["a"]["stringValue"] == "v"


def test_scheduled_event_shape():
    event = scheduled_event(Schedule("nightly", "f", "rate(1 day)", 1))
    assert event["detail-type"] == "Scheduled Event" and event["resources"][0].endswith(":rule/persona-nightly")


def test_gateway_queues_many_connections_at_once():
    """More simultaneous connects than socketserver's default backlog of 5 are queued, not dropped
    (a dropped SYN costs the client a 1 s retransmit)."""
    import socket

    from infra.local.gateway import Gateway
    from infra.local.invoke import Invoker

    gateway = Gateway(TOPOLOGY, Invoker(), host="127.0.0.1", port=0, api_key="k", web_root=None)  # not serving: nothing accepts
    connections = []
    try:
        for _ in range(32):
            connections.append(socket.create_connection(("127.0.0.1", gateway.port), timeout=0.5))
    finally:
        for connection in connections:
            connection.close()
        gateway.server.server_close()
    assert len(connections) == 32


@pytest.mark.parametrize(("request_head", "status"), [
    (b"GET /healthz?q=" + b"A" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),  # over http.server's 64 KB request line
    (b"GET /healthz HTTP/1.1\r\nx-big: " + b"A" * 70_000 + b"\r\n\r\n", 431),  # a header line over 64 KB
    (b"GET /healthz and more HTTP/1.1\r\n\r\n", 400),  # a request line of more than three words
])
def test_the_gateways_own_refusals_are_json_errors(request_head, status):
    """http.server answers these itself, with an HTML page by default (found by the API fuzzer)."""
    import json
    import socket

    from infra.local.gateway import Gateway
    from infra.local.invoke import Invoker

    gateway = Gateway(TOPOLOGY, Invoker(), host="127.0.0.1", port=0, api_key="k", web_root=None)
    gateway.start()
    try:
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as connection:
            connection.sendall(request_head)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
    finally:
        gateway.stop()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == str(status).encode() and b"content-type: application/json" in head.lower()
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] and error["message"]


def test_a_second_local_runtime_in_one_process_is_refused_while_the_first_runs(tmp_path, monkeypatch):
    """moto keeps one state per process: two runtimes would consume each other's queues."""
    from infra.local.runtime import LocalRuntime

    first, second = LocalRuntime(state_dir=tmp_path / "a"), LocalRuntime(state_dir=tmp_path / "b")
    monkeypatch.setattr(LocalRuntime, "_live", [first])
    with pytest.raises(RuntimeError, match="another local runtime is running in this process"):
        second.start()


def test_the_local_sign_in_signs_a_session_for_a_valid_customer_id_only():
    """The retailer's sign-in, played locally for the demo shop: JSON in, JSON out, clear 4xx/503."""
    import http.client
    import json

    from infra.local.gateway import LOCAL_SIGN_IN, Gateway
    from infra.local.invoke import Invoker
    from infra.topology import TOPOLOGY

    def sign(customer_id: str) -> str:
        if customer_id == "C-broken":
            raise RuntimeError("secret unavailable")
        return f"signed-{customer_id}"

    gateway = Gateway(TOPOLOGY, Invoker(), host="127.0.0.1", port=0, api_key="k", web_root=None, sign_in=sign)
    gateway.start()
    try:
        def call(method: str, body: bytes | None = None) -> tuple[int, dict]:
            connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
            connection.request(method, LOCAL_SIGN_IN, body=body, headers={"content-type": "application/json"})
            answer = connection.getresponse()
            return answer.status, json.loads(answer.read())

        assert call("POST", b'{"customer_id": "C-1001"}') == (200, {"customer_id": "C-1001", "session": "signed-C-1001",
                                                                    "header": "X-Persona-Session"})
        for bad in (b"", b"[]", b"not json", b'{"customer_id": "has space"}', b'{"customer_id": 7}'):
            status, body = call("POST", bad)
            assert status == 400 and body["error"]["code"] == "invalid_request", bad
        assert call("GET")[0] == 405
        status, body = call("POST", b'{"customer_id": "C-broken"}')
        assert status == 503 and body["error"]["code"] == "service_unavailable"
    finally:
        gateway.stop()
