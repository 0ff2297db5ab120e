"""Settings read from environment variables once per container.

Each context declares a `BaseSettings` subclass with the variables it needs
(names come from `infra/topology.py`, see `env_var`). `load(cls)` validates them
on first use and caches the result, so a missing variable fails loudly at the
first call instead of deep inside a request.
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from pydantic_settings import BaseSettings, SettingsConfigDict

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class PersonaSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")


@cache
def load(settings_class: type[SettingsT]) -> SettingsT:
    return settings_class()


def reset() -> None:
    """Forget cached settings (tests and the local runtime change the environment)."""
    load.cache_clear()
