"""Powertools Logger, Tracer and Metrics, configured the same way for every function.

The service name is the bounded context, so one process (the local runtime)
can host several contexts and their logs stay apart.

Each tool is created on first use: the Tracer imports the X-Ray SDK, which
costs about 200 ms of cold start (bench/cold_start.py), so only functions that
decorate with it pay for it. Every function still gets a trace segment per
invocation from Lambda's active tracing (set in the CDK app).
"""

from __future__ import annotations

import warnings
from functools import cache, cached_property

from aws_lambda_powertools import Logger, Metrics, Tracer

METRICS_NAMESPACE = "Persona"
# A handler that publishes metrics only sometimes (an import, not S3's test notification): Powertools'
# own advice is to silence its warning about an empty flush.
warnings.filterwarnings("ignore", message="No application metrics to publish")


class Observability:
    def __init__(self, service: str) -> None:
        self.service = service

    @cached_property
    def logger(self) -> Logger:
        return Logger(service=self.service)

    @cached_property
    def tracer(self) -> Tracer:
        return Tracer(service=self.service)

    @cached_property
    def metrics(self) -> Metrics:
        return Metrics(namespace=METRICS_NAMESPACE, service=self.service)


@cache
def for_service(service: str) -> Observability:
    return Observability(service)
