"""The REST API: one Lambda proxy integration per topology route."""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import RemovalPolicy
from constructs import Construct

from infra.topology import Route

STAGE = "live"
# Same shape as the handlers' errors (shared/errors.py) for what API Gateway answers itself.
ERROR_TEMPLATE = '{"error": {"code": "$context.error.responseType", "message": $context.error.messageString, "details": null}}'


def rest_api(scope: Construct, routes: tuple[Route, ...], functions: dict[str, lambda_.IFunction],
             staff: apigw.IAuthorizer) -> apigw.RestApi:
    """Admin routes need a staff member's ID token (the Cognito authorizer `staff`); server routes (`/v1/server/`) an
    IAM-signed request (the retailer's backend: its role needs `execute-api:Invoke` on them); the rest are public."""
    # Caller IPs are personal data: kept a month, as long as the other access logs (storage.CALLER_LOGS_KEPT_DAYS).
    access_logs = logs.LogGroup(scope, "api-access-logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY)
    api = apigw.RestApi(
        scope,
        "api",
        rest_api_name="persona",
        description="Persona storefront and admin API",
        endpoint_types=[apigw.EndpointType.REGIONAL],
        cloud_watch_role=True,
        deploy_options=apigw.StageOptions(
            stage_name=STAGE,
            throttling_rate_limit=1000,
            throttling_burst_limit=2000,
            access_log_destination=apigw.LogGroupLogDestination(access_logs),
            access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                caller=False, http_method=True, ip=True, protocol=True, request_time=True,
                resource_path=True, response_length=True, status=True, user=True,
            ),
            logging_level=apigw.MethodLoggingLevel.ERROR,
            metrics_enabled=True,
            tracing_enabled=True,
        ),
    )
    validator = api.add_request_validator("request-validator", validate_request_body=True, validate_request_parameters=True)
    for response_type in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
        api.add_gateway_response(
            f"gateway-{response_type.response_type.lower()}",
            type=response_type,
            templates={"application/json": ERROR_TEMPLATE},
        )
    integrations: dict[str, apigw.LambdaIntegration] = {}
    for route in routes:
        integration = integrations.setdefault(route.function, apigw.LambdaIntegration(functions[route.function]))
        api.root.resource_for_path(route.path).add_method(
            route.method,
            integration,
            authorization_type=_AUTHORIZATION[route.auth],
            authorizer=staff if route.auth == "admin" else None,
            request_validator=validator,
            request_parameters={
                f"method.request.path.{name}": True for name in _path_parameters(route.path)
            } or None,
        )
    return api


_AUTHORIZATION = {"admin": apigw.AuthorizationType.COGNITO, "server": apigw.AuthorizationType.IAM, "public": apigw.AuthorizationType.NONE}


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
