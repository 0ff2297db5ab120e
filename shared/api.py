"""One way to build a REST resolver: validation on, errors as JSON 4xx.

Every API function builds its resolver here so that bad input looks the same
everywhere: `{"error": {"code", "message", "details"}}` with a 4xx status.
A 5xx is always a bug; it is logged with the stack trace and answered with the
same JSON shape so clients never see an HTML or empty error body.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Depends, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.request import Request
from pydantic import BaseModel

from shared import settings, signing
from shared.aws.failures import error_code, is_retryable
from shared.errors import DomainError, Unauthorized, error_body
from shared.sessions import SESSION_HEADER
from shared.trust import BACKEND_PATH_PREFIX, Caller

class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The body of every 4xx (and, for bugs, 5xx) answer."""

    error: ErrorDetail


def json_response(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        details.append({"location": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type", "")})
    return details


# Bodies sent as text/plain (navigator.sendBeacon, fetch without headers) or with
# no content type are read as JSON; form and multipart bodies are refused.
_READ_AS_JSON = ("", "text/plain")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _not_a_number(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _finite(number: str) -> float:
    value = float(number)
    if not math.isfinite(value):  # 1e999 reads as infinity
        raise ValueError(f"{number[:20]} is out of range")
    return value


def strict_json(text: str) -> Any:
    """`json.loads` as RFC 8259 reads JSON. Python's also takes NaN and Infinity (which
    DynamoDB then refuses), and fails with RecursionError on deep nesting and ValueError
    on integers of over 4,300 digits: every one is invalid JSON here, a 400, not a bug."""
    try:
        return json.loads(text, parse_constant=_not_a_number, parse_float=_finite)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(error_body(code, message)),
        "isBase64Encoded": False,
    }


class JsonApiResolver(APIGatewayRestResolver):
    """A REST resolver for a JSON-only API. `form_routes`: the few routes a mail client posts an HTML form to
    (RFC 8058 one-click unsubscribe); their handlers read the raw body."""

    def __init__(self, *, form_routes: frozenset[str] = frozenset(), **options: Any) -> None:
        super().__init__(**options)
        self.form_routes = form_routes

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event.get("httpMethod") in _BODY_METHODS and event.get("resource") not in self.form_routes:
            headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if event.get("body") and not (content_type in _READ_AS_JSON or content_type.endswith("json")):
                return _error(415, "unsupported_media_type", f"Send JSON (content-type: application/json), not {content_type}.")
            # Powertools reads only `application/json...` as JSON: `Application/JSON`, `application/problem+json`
            # and the text/plain above would otherwise fail in its validation as an unsupported type.
            event = {**event, "headers": {**headers, "content-type": "application/json"}}
            if event.get("body") and event.get("isBase64Encoded"):
                # API Gateway passes a body that is not UTF-8 text base64-encoded; JSON is UTF-8.
                try:
                    text = base64.b64decode(event["body"]).decode("utf-8")
                except (ValueError, UnicodeDecodeError):
                    return _error(400, "invalid_request", "The request body is not valid JSON: it is not UTF-8 text.")
                event = {**event, "body": text, "isBase64Encoded": False}
        return super().resolve(event, context)


def build_resolver(logger: Logger, *, form_routes: frozenset[str] = frozenset()) -> APIGatewayRestResolver:
    app = JsonApiResolver(enable_validation=True, json_body_deserializer=strict_json, form_routes=form_routes)

    @app.exception_handler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        logger.info("request rejected", extra={"code": exc.code, "error": exc.message})
        return json_response(exc.status, exc.to_body())

    @app.exception_handler(RequestValidationError)
    def _invalid_request(exc: RequestValidationError) -> Response:
        details = _validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            message = "The request body is not valid JSON."
        else:
            message = "The request does not match the expected schema."
        logger.info("invalid request", extra={"details": details})
        return json_response(400, error_body("invalid_request", message, details))

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        event = app.current_event
        return json_response(
            404, error_body("route_not_found", f"No route for {event.http_method} {event.path}.")
        )

    @app.exception_handler(Exception)
    def _bug(exc: Exception) -> Response:
        if is_retryable(exc):  # a store throttled or unreachable past the SDK's retries: the caller may retry
            logger.warning("dependency unavailable", extra={"error": type(exc).__name__, "code": error_code(exc)})
            return Response(status_code=503, content_type=content_types.APPLICATION_JSON, headers={"Retry-After": "1"},
                            body=error_body("service_unavailable", "A store is busy or unreachable; retry in a moment."))
        logger.exception("unhandled error")
        return json_response(500, error_body("internal_error", "Internal error; it has been logged."))

    return app


def correlation_id(app: APIGatewayRestResolver) -> str:
    """The caller's `x-correlation-id` if it sent one, else API Gateway's request id."""
    event = app.current_event
    return event.headers.get("x-correlation-id") or event.request_context.request_id


class SessionKeySettings(settings.PersonaSettings):
    session_keys_secret_name: str


def _session_key() -> str:
    from shared.aws.secrets import secret_value  # cached per container; read only when a session is sent

    return secret_value(settings.load(SessionKeySettings).session_keys_secret_name)


def caller(request: Request) -> Caller:
    """The caller of a public route under the trust model (shared/trust.py). Every public route that acts
    for a person declares it (`who: Who`, below).

    The backend is whoever API Gateway let through an IAM-signed `/v1/server/` route: it writes the
    signer's ARN into the request context, which no caller can set (the local gateway does the same
    after checking the local server key). A session must at least look like one: a malformed one is a 401."""
    event = request.resolved_event
    session = event.headers.get(SESSION_HEADER) or None  # case-insensitive
    if session is not None and not signing.well_formed(session):
        raise Unauthorized("This session is not one the shop's sign-in gives: sign in again.", code="invalid_session")
    identity = event.request_context.identity
    backend = bool(identity.user_arn) and event.resource.startswith(BACKEND_PATH_PREFIX)
    return Caller(now=datetime.now(UTC), session=session, backend=backend, session_key=_session_key)


# The parameter every public route that acts for a person declares: `who: Who`.
Who = Annotated[Caller, Depends(caller)]
