"""Secrets Manager adapter: a generated secret's value, cached per container (Powertools parameters)."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters

# Long enough to spare Secrets Manager calls, short enough to pick up a rotation within minutes.
MAX_AGE_S = 300


def secret_value(name: str) -> str:
    return str(parameters.get_secret(name, max_age=MAX_AGE_S))


def forget_cached() -> None:
    parameters.clear_caches()
