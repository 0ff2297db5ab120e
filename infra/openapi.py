"""Build the OpenAPI document of the whole API from the handlers themselves.

Each API function's Powertools resolver describes its routes; this module
merges them, keeps each path under the function the topology routes it to, and
marks admin routes with their security requirement. `persona openapi` writes the
result to `functions/platform/openapi.json`, which the platform function serves
and a test keeps current.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from infra.topology import TOPOLOGY, Topology
from shared.api import ErrorResponse

DOCUMENT_PATH = Path(__file__).resolve().parent.parent / "functions" / "platform" / "openapi.json"
TITLE = "Persona API"
VERSION = "0.1.0"
LOCAL_SERVER = "http://127.0.0.1:8080"


def resolvers_of(module_name: str) -> list[Any]:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    module = importlib.import_module(module_name)
    return [value for value in vars(module).values() if isinstance(value, APIGatewayRestResolver)]


def build_document(topology: Topology = TOPOLOGY) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    auth = {(r.method.lower(), r.path): r.auth for r in topology.routes}
    wanted = {(r.method.lower(), r.path): r.function for r in topology.routes}
    for function in topology.functions:
        if not any(r.function == function.id for r in topology.routes):
            continue
        for resolver in resolvers_of(function.module):
            # Public routes that act for a person declare the caller dependency (shared.api.caller).
            with_caller = {(r.method.lower(), r.openapi_path) for r in (*resolver._static_routes, *resolver._dynamic_routes)
                           if r.has_dependencies}
            spec = resolver.get_openapi_schema(title=TITLE, version=VERSION).model_dump(
                by_alias=True, exclude_none=True, mode="json"
            )
            schemas.update(spec.get("components", {}).get("schemas", {}))
            schemas.update(_model_schemas(getattr(importlib.import_module(function.module), "OPENAPI_MODELS", [])))
            for path, operations in spec.get("paths", {}).items():
                for method, operation in operations.items():
                    if wanted.get((method, path)) != function.id:
                        continue
                    _errors_are_400(operation)
                    kind = auth[(method, path)]
                    if kind != "public" or (method, path) in with_caller:
                        operation["security"] = _SECURITY[kind]
                    paths.setdefault(path, {})[method] = operation
    schemas.update(_model_schemas([ErrorResponse]))
    for unused in ("HTTPValidationError", "ValidationError"):  # Powertools' 422 shapes, replaced by ours
        schemas.pop(unused, None)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Public routes are called by the storefront under the trust model of shared/trust.py: a "
            "visitor's anonymous id is the secret of their cookie, a customer is proven by `X-Persona-Session`, the "
            "retailer's backend calls the `/v1/server/` routes (IAM-signed; the local server key locally). Admin routes need a staff member's "
            "Cognito ID token (Authorization header; the dashboard signs in through the user pool's hosted UI) "
            "in AWS and the `x-api-key` printed by `make up` in the local runtime. Errors are "
            '`{"error": {"code", "message", "details"}}` with a 4xx status.',
        },
        "servers": [{"url": LOCAL_SERVER, "description": "local runtime (make up)"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "staffIdToken": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "cognito_user_pools",
                                 "description": "The ID token of a user of the persona-staff Cognito user pool, as is (no Bearer prefix)"},
                "localApiKey": {"type": "apiKey", "name": "x-api-key", "in": "header"},
                "storefrontSession": {"type": "apiKey", "name": "X-Persona-Session", "in": "header",
                                      "description": "A signed-in customer's session, signed by the retailer's sign-in "
                                      "(shared/sessions.py); a visitor needs none (their anonymous id is the secret)"},
                "backendIam": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4",
                               "description": "The retailer's backend: a request signed with AWS Signature Version 4 by a "
                               "role allowed execute-api:Invoke on /v1/server/*"},
                "localServerKey": {"type": "apiKey", "name": "x-persona-server-key", "in": "header",
                                   "description": "The local runtime's stand-in for the backend's IAM signature (printed by `make up`)"},
            },
        },
    }


def _model_schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    if not models:
        return {}
    _, top = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    return top.get("$defs", {})


# Who may call a route (shared/trust.py): public routes optionally carry a customer's session.
_SECURITY: dict[str, list[dict[str, list]]] = {
    "admin": [{"staffIdToken": []}, {"localApiKey": []}],
    "server": [{"backendIam": []}, {"localServerKey": []}],
    "public": [{}, {"storefrontSession": []}],
}


def _errors_are_400(operation: dict[str, Any]) -> None:
    """Our resolvers answer validation errors with 400 and ErrorResponse (shared/api.py), not 422."""
    operation.get("responses", {}).pop("422", None)
    operation.setdefault("responses", {})["400"] = {
        "description": "Invalid request",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def write(path: Path = DOCUMENT_PATH) -> Path:
    path.write_text(render(build_document()))
    return path
