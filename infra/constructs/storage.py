"""DynamoDB tables and S3 buckets from the topology."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.topology import Bucket, Secret, Table


def table(scope: Construct, spec: Table, key: kms.IKey) -> dynamodb.Table:
    string = dynamodb.AttributeType.STRING
    built = dynamodb.Table(
        scope,
        f"{spec.id}-table",
        partition_key=dynamodb.Attribute(name=spec.partition_key, type=string),
        sort_key=dynamodb.Attribute(name=spec.sort_key, type=string) if spec.sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True),
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        time_to_live_attribute=spec.ttl_attribute,
        removal_policy=RemovalPolicy.RETAIN,  # customer data outlives a stack deletion
    )
    for gsi in spec.gsis:
        built.add_global_secondary_index(
            index_name=gsi.name,
            partition_key=dynamodb.Attribute(name=gsi.partition_key, type=string),
            sort_key=dynamodb.Attribute(name=gsi.sort_key, type=string) if gsi.sort_key else None,
        )
    return built


# Access logs (S3, CloudFront, API Gateway) hold callers' IP addresses, personal data kept for security
# (abuse, incident investigation) and no longer than a month.
CALLER_LOGS_KEPT_DAYS = 30


def access_log_bucket(scope: Construct) -> s3.Bucket:
    """Server access logs of every other bucket (S3 needs ACL-free, S3-managed encryption here)."""
    return s3.Bucket(
        scope,
        "access-logs",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,  # CloudFront standard logs need ACLs
        lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(CALLER_LOGS_KEPT_DAYS))],
        removal_policy=RemovalPolicy.RETAIN,
    )


def bucket(scope: Construct, spec: Bucket, key: kms.IKey, logs: s3.IBucket, *, served_by_cloudfront: bool) -> s3.Bucket:
    rules = []
    if spec.expire_after_days:
        rules.append(s3.LifecycleRule(expiration=Duration.days(spec.expire_after_days)))
    if spec.versioned:
        rules.append(s3.LifecycleRule(noncurrent_version_expiration=Duration.days(90)))
    rules.append(s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(1)))
    return s3.Bucket(
        scope,
        f"{spec.id}-bucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        # CloudFront's origin access control reads the web bucket; S3-managed keys keep that simple.
        encryption=s3.BucketEncryption.S3_MANAGED if served_by_cloudfront else s3.BucketEncryption.KMS,
        encryption_key=None if served_by_cloudfront else key,
        bucket_key_enabled=not served_by_cloudfront,
        enforce_ssl=True,
        versioned=spec.versioned,
        lifecycle_rules=rules,
        server_access_logs_bucket=logs,
        server_access_logs_prefix=f"{spec.id}/",
        removal_policy=RemovalPolicy.RETAIN,
    )


def secret(scope: Construct, spec: Secret, key: kms.IKey) -> secretsmanager.Secret:
    return secretsmanager.Secret(
        scope,
        f"{spec.id}-secret",
        description=spec.purpose,
        encryption_key=key,
        generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
        removal_policy=RemovalPolicy.RETAIN,  # losing it would orphan suppression-list hashes
    )
