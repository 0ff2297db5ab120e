"""EventBridge publisher: batches of ≤ 10 entries, failed entries retried."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from shared.aws.clients import client
from shared.envelope import EventEnvelope
from shared.errors import ServiceUnavailable

MAX_ENTRIES_PER_CALL = 10  # PutEvents limit
MAX_ENTRY_BYTES = 256 * 1024  # PutEvents limit per entry


class PublishError(ServiceUnavailable):
    """Some entries were still rejected after every retry (an API answers 503)."""

    def __init__(self, failed: list[dict[str, Any]]) -> None:
        codes = sorted({f.get("ErrorCode", "?") for f in failed})
        super().__init__(f"{len(failed)} event(s) not published ({', '.join(codes)}); retry later.", details=failed)
        self.failed = failed


class EventPublisher:
    def __init__(
        self,
        bus_name: str,
        *,
        max_attempts: int = 4,
        base_delay_s: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
        events_client: Any = None,
    ) -> None:
        self.bus_name = bus_name
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self._sleep = sleep
        self._client = events_client

    @property
    def client(self) -> Any:
        return self._client or client("events")

    def entry(self, envelope: EventEnvelope) -> dict[str, Any]:
        detail = envelope.model_dump_json()
        if len(detail.encode()) > MAX_ENTRY_BYTES:
            raise ValueError(f"event {envelope.metadata.event_name} is larger than {MAX_ENTRY_BYTES} bytes")
        return {
            "EventBusName": self.bus_name,
            "Source": envelope.metadata.source,
            "DetailType": envelope.metadata.event_name,
            "Detail": detail,
        }

    def publish(self, envelopes: Sequence[EventEnvelope]) -> int:
        entries = [self.entry(envelope) for envelope in envelopes]
        for start in range(0, len(entries), MAX_ENTRIES_PER_CALL):
            self._put(entries[start : start + MAX_ENTRIES_PER_CALL])
        return len(entries)

    def _put(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        failed: list[dict[str, Any]] = []
        for attempt in range(self.max_attempts):
            if attempt:
                # Full-jitter backoff, as AWS recommends for PutEvents partial failures.
                self._sleep(random.uniform(0, self.base_delay_s * 2**attempt))
            response = self.client.put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                return
            rejected = [(entry, result) for entry, result in zip(pending, response["Entries"]) if result.get("ErrorCode")]
            pending = [entry for entry, _ in rejected]
            failed = [
                {"detail_type": entry["DetailType"], "ErrorCode": result["ErrorCode"], "ErrorMessage": result.get("ErrorMessage")}
                for entry, result in rejected
            ]
        raise PublishError(failed)
