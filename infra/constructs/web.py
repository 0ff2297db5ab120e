"""CloudFront in front of the web bucket, with web/ deployed into it and config.js pointing the
pages at the deployed API."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct


CONFIG_FILE = "config.js"  # where the pages read the API's base URL (web/config.js: same origin, locally)


def config_script(api_url: str) -> str:
    return f'window.PERSONA_API = "{api_url.rstrip("/")}";\n'


def distribution(scope: Construct, bucket: s3.IBucket, logs: s3.IBucket, web_root: Path, api_url: str) -> cloudfront.Distribution:
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
        minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        enable_logging=True,
        log_bucket=logs,
        log_file_prefix="cloudfront/",
    )
    if web_root.is_dir():
        s3deploy.BucketDeployment(
            scope,
            "web-deployment",
            # The API URL is known at deploy time only: it replaces the local config.js.
            sources=[s3deploy.Source.asset(str(web_root), exclude=[CONFIG_FILE]),
                     s3deploy.Source.data(CONFIG_FILE, config_script(api_url))],
            destination_bucket=bucket,
            distribution=dist,
        )
    return dist
