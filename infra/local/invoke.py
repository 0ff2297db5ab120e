"""Call a topology function's real handler the way the Lambda runtime would."""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from infra.local.provision import ACCOUNT, REGION
from infra.topology import Function


@dataclass
class LocalLambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Invoker:
    """One lock per function: like a single warm container, a function handles
    one event at a time (Powertools resolvers and batch processors keep
    per-invocation state on module-level objects).

    In AWS every function has its own machines; here they share one process, one
    interpreter lock and one moto. So that a storefront stays responsive while queues
    drain a big import, queue consumers yield to API requests (`requests_quiet`)."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._handlers: dict[str, Any] = {}
        self._requests = 0
        self._quiet = threading.Condition()

    @contextmanager
    def serving_request(self) -> Iterator[None]:
        """Around an API request: background work waits while any is in flight."""
        with self._quiet:
            self._requests += 1
        try:
            yield
        finally:
            with self._quiet:
                self._requests -= 1
                if not self._requests:
                    self._quiet.notify_all()

    def requests_quiet(self, max_wait_s: float) -> bool:
        """Wait until no API request is in flight, at most `max_wait_s` (background work is
        delayed, never starved). True when quiet."""
        with self._quiet:
            return self._quiet.wait_for(lambda: not self._requests, timeout=max_wait_s)

    def _handler(self, function: Function) -> Any:
        # Imports run under one lock: Python's per-module import locks do not stop
        # two threads from seeing each other's half-initialised packages.
        with self._guard:
            if function.id not in self._handlers:
                module = importlib.import_module(function.module)
                self._handlers[function.id] = getattr(module, function.attribute)
            return self._handlers[function.id]

    def preload(self, functions: tuple[Function, ...]) -> None:
        """Import every handler up front, as Lambda's init phase would."""
        for function in functions:
            self._handler(function)

    def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        with self._guard:
            lock = self._locks.setdefault(function.id, threading.Lock())
        with lock:
            handler = self._handler(function)
            context = LocalLambdaContext(
                function_name=f"persona-{function.id.replace('_', '-')}",
                memory_limit_in_mb=function.memory_mb,
                timeout_s=function.timeout_s,
            )
            return handler(event, context)
