"""Settings read from environment variables once per container.

Each context declares a `BaseSettings` subclass with the variables it needs
(names come from `infra/topology.py`, see `env_var`). `load(cls)` validates them
on first use and caches the result, so a missing variable fails loudly at the
first call instead of deep inside a request.
"""

from __future__ import annotations

from functools import cache
from collections.abc import Callable
from typing import Any, TypeVar, cast

from pydantic_settings import BaseSettings, SettingsConfigDict

SettingsT = TypeVar("SettingsT", bound=BaseSettings)
F = TypeVar("F", bound=Callable[..., Any])


class PersonaSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")


_per_container: list[Any] = []


def per_container(factory: F) -> F:
    """Cache what `factory` builds for the life of the container (clients, stores).

    Like `functools.cache`, but `reset()` forgets it together with the settings
    it was built from.
    """
    cached = cache(factory)
    _per_container.append(cached)
    return cast(F, cached)


@per_container
def load(settings_class: type[SettingsT]) -> SettingsT:
    return settings_class()


def reset() -> None:
    """Forget cached settings and what was built from them (tests and the local
    runtime change the environment)."""
    for cached in _per_container:
        cached.cache_clear()
