"""Powertools Logger, Tracer and Metrics, configured the same way for every function.

The service name is the bounded context, so one process (the local runtime)
can host several contexts and their logs stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "Persona"


@dataclass(frozen=True)
class Observability:
    logger: Logger
    tracer: Tracer
    metrics: Metrics


@cache
def for_service(service: str) -> Observability:
    return Observability(
        logger=Logger(service=service),
        tracer=Tracer(service=service),
        metrics=Metrics(namespace=METRICS_NAMESPACE, service=service),
    )
