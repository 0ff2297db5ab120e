"""A real HTTP server that plays API Gateway (REST, Lambda proxy integration).

Requests become API Gateway proxy events for the function the topology routes
them to; admin routes need the local API key (a staff ID token in AWS), server routes
(`/v1/server/`) the local server key (an IAM-signed request in AWS). Other GET paths are
served from `web/`.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import mimetypes
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from infra.local import orders
from infra.local.invoke import Invoker
from infra.local.provision import ACCOUNT
from infra.topology import Route, Topology
from shared.errors import error_body

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
STAGE = "local"
SERVER_KEY_HEADER = "x-persona-server-key"
# What API Gateway writes into the request context of an IAM-signed request; the local server key stands for it.
LOCAL_BACKEND_ARN = f"arn:aws:iam::{ACCOUNT}:user/local-retailer-backend"
log = logging.getLogger("persona.local.gateway")


def _route_pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    return re.compile(f"^{regex}$")


class RouteTable:
    def __init__(self, routes: tuple[Route, ...]) -> None:
        # Like API Gateway, a literal segment wins over a path parameter (/v1/imports/mappings
        # before /v1/imports/{import_id}).
        ordered = sorted(routes, key=lambda r: r.path.count("{"))
        self._routes = [(route, _route_pattern(route.path)) for route in ordered]

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path parameters, whether the path exists under another method)."""
        path_known = False
        for route, pattern in self._routes:
            found = pattern.match(path)
            if found:
                path_known = True
                if route.method == method:
                    return route, {k: unquote(v) for k, v in found.groupdict().items()}, True
        return None, {}, path_known


def proxy_event(
    method: str, raw_path: str, headers: dict[str, str], body: bytes, route: Route, path_params: dict[str, str], source_ip: str,
    *, signer_arn: str | None = None,
) -> dict[str, Any]:
    split = urlsplit(raw_path)
    query = parse_qs(split.query, keep_blank_values=True)
    text_body: str | None
    is_base64 = False
    if not body:
        text_body = None
    else:
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            text_body, is_base64 = base64.b64encode(body).decode(), True
    request_id = str(uuid.uuid4())
    return {
        "resource": route.path,
        "path": split.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "stage": STAGE,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{STAGE}{split.path}",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": int(time.time() * 1000),
            # userArn: set by API Gateway only for an IAM-signed request (a server route); no caller can write it.
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("user-agent", ""), "userArn": signer_arn,
                         "caller": signer_arn and "local-retailer-backend"},
        },
        "body": text_body,
        "isBase64Encoded": is_base64,
    }


class _Server(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: with more connections arriving at once
    # (a storefront's parallel requests, `persona simulate`, bench/load.py) the kernel
    # dropped their SYNs and each such request waited out a 1 s retransmit.
    request_queue_size = 128
    daemon_threads = True


# The retailer's sign-in, played by the local runtime for the demo shop: it signs a storefront session
# (shared/sessions.py) for the customer id typed in the shop's sign-in form, as the retailer's
# backend does after checking a password. Local only: not a Persona route, not in AWS or the OpenAPI document.
LOCAL_SIGN_IN = "/local/storefront-sessions"
_CUSTOMER_ID = re.compile(r"^[A-Za-z0-9._:@\-]{1,128}$")

SERVER_EVENTS = "/v1/server/events"


class Gateway:
    def __init__(self, topology: Topology, invoker: Invoker, *, host: str, port: int, api_key: str, web_root: Path | None,
                 sign_in: Callable[[str], str] | None = None, server_key: str | None = None,
                 session_proves: Callable[[str, str], bool] | None = None) -> None:
        self.topology = topology
        self.invoker = invoker
        self.api_key = api_key
        self.server_key = server_key  # None: no server routes served
        self.web_root = web_root
        self.sign_in = sign_in
        self.session_proves = session_proves  # (customer id, session) -> is it a live session of that customer
        self.routes = RouteTable(topology.routes)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "persona-local"
            # Headers and body leave in two writes: with Nagle's algorithm on, the body waited for
            # the client's delayed ACK, ~40 ms on every request of a keep-alive connection.
            disable_nagle_algorithm = True

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("%s " + fmt, self.address_string(), *args)

            def _serve(self) -> None:
                gateway.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

            def do_OPTIONS(self) -> None:  # CORS preflight for the web pages
                gateway.send(self, 204, {}, b"")

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                # http.server's own refusals (a URI or header line over 64 KB, a malformed request
                # line) in the API's JSON error shape: its default is an HTML page.
                phrase = HTTPStatus(code).phrase
                gateway.send_error(self, code, re.sub(r"\W+", "_", phrase.lower()).strip("_"), message or phrase, close=True)

        self.server = _Server((host, port), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ handling
    def send(self, request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        request.send_response(status)
        headers = {"access-control-allow-origin": "*", "access-control-allow-headers": "content-type,x-api-key,x-correlation-id,x-persona-session", "access-control-allow-methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS", **headers}
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("content-length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)

    def send_error(self, request: BaseHTTPRequestHandler, status: int, code: str, message: str, *, close: bool = False) -> None:
        """The API's JSON error. `close`: the connection ends after it, and the client is told so (`Connection: close`),
        else a keep-alive client may send its next request on a socket being closed."""
        body = json.dumps(error_body(code, message)).encode()
        if close:
            request.close_connection = True
        self.send(request, status, {"content-type": "application/json", **({"connection": "close"} if close else {})}, body)

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        method = request.command
        path = urlsplit(request.path).path
        length = int(request.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self.send_error(request, 413, "payload_too_large", "Request bodies are limited to 10 MB.", close=True)
            return
        body = request.rfile.read(length) if length else b""
        if path == LOCAL_SIGN_IN and self.sign_in is not None:
            self._sign_in(request, method, body)
            return
        if path == orders.LOCAL_ORDERS and self.server_key is not None:
            self._order(request, method, body)
            return
        route, params, path_known = self.routes.match(method if method != "HEAD" else "GET", path)
        if route is None:
            if method in ("GET", "HEAD") and self._serve_static(request, path):
                return
            if path_known:
                self.send_error(request, 405, "method_not_allowed", f"{method} is not allowed on {path}.")
            else:
                self.send_error(request, 404, "route_not_found", f"No route for {method} {path}.")
            return
        headers = {k.lower(): v for k, v in request.headers.items()}
        # Constant-time: how long a wrong key takes must not tell how much of it was right.
        if route.auth == "admin" and not hmac.compare_digest(headers.get("x-api-key", "").encode(), self.api_key.encode()):
            self.send_error(request, 403, "forbidden", "Admin routes need the x-api-key printed by `persona up`.")
            return
        if route.auth == "server" and not (self.server_key and hmac.compare_digest(
                headers.get(SERVER_KEY_HEADER, "").encode(), self.server_key.encode())):
            self.send_error(request, 403, "forbidden", f"Server routes need the {SERVER_KEY_HEADER} printed by `persona up` "
                            "(an IAM-signed request in AWS).")
            return
        event = proxy_event(method, request.path, headers, body, route, params, request.client_address[0],
                            signer_arn=LOCAL_BACKEND_ARN if route.auth == "server" else None)
        result = self._invoke(request, route, event)
        if result is not None:
            self._send_proxy_result(request, result)

    def _invoke(self, request: BaseHTTPRequestHandler, route: Route, event: dict[str, Any]) -> dict[str, Any] | None:
        """The route's function's proxy result, or None when it failed (a 502 already sent)."""
        function = self.topology.function(route.function)
        try:
            with self.invoker.serving_request():
                return self.invoker.invoke(function, event)
        except Exception:  # an unhandled error in a handler is a bug: API Gateway answers 502
            log.exception("function %s failed", function.id)
            self.send_error(request, 502, "function_error", f"{function.id} failed; see the runtime's log.")
            return None

    def _sign_in(self, request: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        if method != "POST":
            self.send_error(request, 405, "method_not_allowed", f"{method} is not allowed on {LOCAL_SIGN_IN}.")
            return
        try:
            customer_id = json.loads(body or b"{}").get("customer_id")
        except (ValueError, AttributeError, RecursionError):  # RecursionError: a body nested deeper than the parser goes
            customer_id = None
        if not isinstance(customer_id, str) or not _CUSTOMER_ID.match(customer_id):
            self.send_error(request, 400, "invalid_request", 'Send {"customer_id": "..."}: 1-128 letters, digits and . _ : @ -.')
            return
        try:
            session = self.sign_in(customer_id)
        except Exception:  # the secret could not be read (moto busy): say so rather than leave the shop waiting
            log.exception("signing a storefront session failed")
            self.send_error(request, 503, "service_unavailable", "Signing in is unavailable for a moment; try again.")
            return
        answer = {"customer_id": customer_id, "session": session, "header": "X-Persona-Session"}
        self.send(request, 200, {"content-type": "application/json"}, json.dumps(answer).encode())

    def _order(self, request: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        """The retailer's order system (infra/local/orders.py): the order's lines as purchases, sent by the backend."""
        from shared import signing
        from shared.sessions import SESSION_HEADER

        if method != "POST":
            self.send_error(request, 405, "method_not_allowed", f"{method} is not allowed on {orders.LOCAL_ORDERS}.")
            return
        try:
            order = orders.parse_order(body)
        except ValueError as exc:
            self.send_error(request, 400, "invalid_request", str(exc))
            return
        session = request.headers.get(SESSION_HEADER) or None
        if session is not None and not signing.well_formed(session):
            self.send_error(request, 401, "invalid_session", "This session is not one the shop's sign-in gives: sign in again.")
            return
        customer_id = None
        if order.customer_id and session and self.session_proves is not None:
            try:
                customer_id = order.customer_id if self.session_proves(order.customer_id, session) else None
            except Exception:  # the secret could not be read (moto busy): the order must not be lost for it
                log.exception("checking a storefront session failed")
                self.send_error(request, 503, "service_unavailable", "Orders are unavailable for a moment; try again.")
                return
        route, params, _ = self.routes.match("POST", SERVER_EVENTS)
        if route is None or route.auth != "server":
            self.send_error(request, 404, "route_not_found", f"No route for POST {SERVER_EVENTS}.")
            return
        payload = json.dumps({"events": orders.purchase_events(order, customer_id, datetime.now(UTC))}).encode()
        headers = {"content-type": "application/json", "user-agent": "persona-local-orders",
                   **({"x-correlation-id": request.headers["x-correlation-id"]} if request.headers.get("x-correlation-id") else {})}
        event = proxy_event("POST", SERVER_EVENTS, headers, payload, route, params, request.client_address[0],
                            signer_arn=LOCAL_BACKEND_ARN)
        result = self._invoke(request, route, event)
        if result is not None:  # 202 with what the collection API answered (or its 503: the shop sends the order again)
            self._send_proxy_result(request, result)

    def _send_proxy_result(self, request: BaseHTTPRequestHandler, result: dict[str, Any]) -> None:
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        self.send(request, int(result.get("statusCode", 200)), headers, body)

    def _serve_static(self, request: BaseHTTPRequestHandler, path: str) -> bool:
        if self.web_root is None or not self.web_root.is_dir():
            return False
        relative = path.lstrip("/") or "index.html"
        target = (self.web_root / relative).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(self.web_root.resolve()) or not target.is_file():
            return False
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self.send(request, 200, {"content-type": content_type, "cache-control": "no-cache"}, target.read_bytes())
        return True
