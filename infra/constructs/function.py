"""One Lambda function per topology entry point."""

from __future__ import annotations

from aws_cdk import AssetHashType, Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import bundling
from infra.topology import Function

RUNTIME = lambda_.Runtime.PYTHON_3_14  # bundling.LAMBDA_PYTHON must match
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


def function(scope: Construct, spec: Function, environment: dict[str, str]) -> lambda_.Function:
    code = lambda_.Code.from_asset(
        str(bundling.REPO_ROOT / "functions" / spec.context),
        bundling=bundling.bundling_options(spec.bundle, spec.context),
        # Hash what goes into the bundle (not the output), so bundling runs only when it changed.
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=bundling.source_hash(spec.bundle, spec.context),
    )
    log_group = logs.LogGroup(
        scope, f"{spec.id}-logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
    )
    return lambda_.Function(
        scope,
        f"{spec.id}-function",
        description=spec.description,
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        handler=spec.handler,
        code=code,
        memory_size=spec.memory_mb,
        timeout=Duration.seconds(spec.timeout_s),
        reserved_concurrent_executions=spec.reserved_concurrency,
        environment={**environment, "POWERTOOLS_LOG_LEVEL": "INFO"},
        logging_format=lambda_.LoggingFormat.JSON,
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
    )
