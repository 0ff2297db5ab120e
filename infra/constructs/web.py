"""CloudFront in front of the web bucket and the API: the pages and `/v1/*` share one origin
(no CORS, cookies-free same-origin calls), web/ is deployed into the bucket and config.js
tells the dashboard how staff sign in."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.constructs.api import STAGE


CONFIG_FILE = "config.js"  # what the pages read: the API's base URL (here: same origin) and staff sign-in
API_PATHS = "/v1/*"


def config_script(auth_domain: str, client_id: str) -> str:
    return (f'window.PERSONA_API = "";\n'
            f'window.PERSONA_AUTH = {{"domain": "{auth_domain}", "clientId": "{client_id}"}};\n')


def distribution(scope: Construct, bucket: s3.IBucket, logs: s3.IBucket, api: apigw.RestApi) -> cloudfront.Distribution:
    dist = cloudfront.Distribution(
        scope,
        "web-distribution",
        comment="Persona web pages",
        default_root_object="index.html",
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(bucket),
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
        ),
        additional_behaviors={
            API_PATHS: cloudfront.BehaviorOptions(
                # By the API's id, not its stage URL: the distribution must not wait for the API's
                # functions, one of which (privacy links) is given the distribution's domain.
                origin=origins.HttpOrigin(f"{api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}",
                                          origin_path=f"/{STAGE}",
                                          protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,  # answers are per person
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            ),
        },
        minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        enable_logging=True,
        log_bucket=logs,
        log_file_prefix="cloudfront/",
    )
    return dist


def deploy_pages(scope: Construct, bucket: s3.IBucket, dist: cloudfront.Distribution, web_root: Path,
                 auth_domain: str, client_id: str) -> None:
    if web_root.is_dir():
        s3deploy.BucketDeployment(
            scope,
            "web-deployment",
            # The sign-in settings are known at deploy time only: they replace the local config.js.
            sources=[s3deploy.Source.asset(str(web_root), exclude=[CONFIG_FILE]),
                     s3deploy.Source.data(CONFIG_FILE, config_script(auth_domain, client_id))],
            destination_bucket=bucket,
            distribution=dist,
        )
