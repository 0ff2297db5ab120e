"""`GET /healthz` and `GET /v1/openapi.json`.

The OpenAPI document is generated from every API function's resolver by
`persona openapi` (see `infra/openapi.py`) and shipped in this bundle, so this
function never imports the other contexts.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from shared.api import build_resolver
from shared.observability import for_service

logger = for_service("platform").logger
app = build_resolver(logger)


class Health(BaseModel):
    status: str
    version: str


@cache
def openapi_document() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("openapi.json").read_text())


@app.get("/healthz", summary="Liveness", tags=["platform"])
def healthz() -> Health:
    return Health(status="ok", version=openapi_document()["info"]["version"])


@app.get("/v1/openapi.json", summary="The OpenAPI document of the whole API", tags=["platform"])
def openapi() -> dict[str, Any]:
    return openapi_document()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
