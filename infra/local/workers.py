"""One daemon thread per item (queue, schedule), started and stopped together."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any


class Workers:
    def __init__(self, name: str, items: Iterable[Any], run: Callable[[Any], None], *, join_timeout_s: float) -> None:
        self.stopping = threading.Event()
        self._join_timeout_s = join_timeout_s
        self._threads = [
            threading.Thread(target=run, args=(item,), name=f"{name}-{item.id}", daemon=True) for item in items
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Wait for them together, at most the join timeout in all: one per thread would let
        twenty threads busy in handlers hold a Ctrl-C for forty seconds (they are daemons)."""
        self.stopping.set()
        deadline = time.monotonic() + self._join_timeout_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
