from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from infra import openapi
from infra.topology import TOPOLOGY
from shared.consumers import envelope_from_body
from shared.envelope import new_event


def test_envelope_from_an_eventbridge_to_sqs_body():
    envelope = new_event("InteractionRecorded", {"type": "page_view"}, context="profiles", correlation_id="r1")
    body = json.dumps({
        "version": "0", "id": "abc", "detail-type": "InteractionRecorded", "source": "persona.profiles",
        "account": "123456789012", "time": "2026-11-24T10:00:00Z", "region": "eu-west-1", "resources": [],
        "detail": json.loads(envelope.model_dump_json()),
    })
    assert envelope_from_body(body) == envelope


@pytest.mark.parametrize("body", ["not json", '{"detail": {}}', '{"not": "an EventBridge event"}'])
def test_anything_else_raises(body):
    with pytest.raises(ValidationError):
        envelope_from_body(body)


@pytest.fixture(scope="module")
def document():
    return openapi.build_document()


def test_the_committed_openapi_document_is_current(document):
    assert openapi.DOCUMENT_PATH.read_text() == openapi.render(document), "run `persona openapi` (or `make openapi`)"


def test_every_route_is_documented_with_its_security(document):
    for route in TOPOLOGY.routes:
        operation = document["paths"][route.path][route.method.lower()]
        takes_a_session = route.auth == "public" and route.function in ("profiles_collect", "privacy_api", "recommend_api", "experiments_api") \
            and (not route.path.startswith("/v1/privacy-requests") or "/by-subject/" in route.path)
        expected = {"admin": [{"staffIdToken": []}, {"localApiKey": []}], "server": [{"backendIam": []}, {"localServerKey": []}],
                    "public": [{}, {"storefrontSession": []}] if takes_a_session else None}[route.auth]
        assert operation.get("security") == expected, route
        assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
        assert "422" not in operation["responses"]
    assert document["components"]["schemas"]["TrackingBatch"]["properties"]["events"]["items"] == {"$ref": "#/components/schemas/TrackingEvent"}
    assert "TrackingEvent" in document["components"]["schemas"]


def test_no_handler_declares_a_route_the_topology_does_not_wire():
    wired = {(r.method.lower(), r.path) for r in TOPOLOGY.routes}
    for module in {f.module for f in TOPOLOGY.functions}:
        for resolver in openapi.resolvers_of(module):
            spec = resolver.get_openapi_schema().model_dump(by_alias=True, exclude_none=True)
            declared = {(method, path) for path, ops in spec.get("paths", {}).items() for method in ops}
            assert declared <= wired, f"{module} declares unreachable routes: {declared - wired}"
