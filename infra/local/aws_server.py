"""moto's server, with DynamoDB requests serialised.

moto's DynamoDB backend is not thread-safe: a query iterating a table while a
batch write adds to it fails with "dictionary changed size during iteration".
Real DynamoDB has no such problem, so the local runtime takes one lock around
DynamoDB requests (the X-Amz-Target header says which service a JSON request is
for). Other services stay concurrent, so SQS long polls do not block anything.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from infra.local import moto_patches


class _SerialiseDynamoDB:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


class LocalAwsServer:
    def __init__(self, host: str, port: int) -> None:
        moto_patches.apply()
        app = _SerialiseDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-aws", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
