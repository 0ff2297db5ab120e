"""Adapters of the profiles functions, built once per container."""

from __future__ import annotations

import time
from typing import Any

from functions.profiles.collection import Vocabulary
from functions.profiles.settings import BusSettings
from functions.profiles.store import profile_store
from shared import settings
from shared.aws.events import EventPublisher

VOCABULARY_MAX_AGE_S = 60.0  # a newly published catalog counts within a minute


@settings.per_container
def publisher() -> EventPublisher:
    return EventPublisher(settings.load(BusSettings).event_bus_name)


@settings.per_container
def _vocabulary_cache() -> dict[str, Any]:
    return {"read_at": float("-inf"), "vocabulary": None}


def current_vocabulary() -> Vocabulary | None:
    """The published catalog's words, read at most once a minute per container."""
    cache = _vocabulary_cache()
    if time.monotonic() - cache["read_at"] >= VOCABULARY_MAX_AGE_S:
        published = profile_store().vocabulary()
        cache.update(read_at=time.monotonic(), vocabulary=Vocabulary.of(published) if published else None)
    return cache["vocabulary"]
