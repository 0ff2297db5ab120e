"""cdk-nag findings Persona accepts, each acknowledged where it arises with the reason.

Everything else cdk-nag's AWS Solutions rules report fails the synth (and the
infrastructure tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.stacks.persona_stack import PersonaStack

PREFIX = "AwsSolutions::AwsSolutions-"
# Wildcard actions CDK's bucket grants use (grant_read / grant_put / grant_read_write).
_READ = ("s3:GetObject*", "s3:GetBucket*", "s3:List*")
_WRITE = ("s3:Abort*",)
BUCKET_GRANT_ACTIONS = {"read": _READ, "write": _WRITE, "read_write": (*_READ, *_WRITE, "s3:DeleteObject*")}
BASIC_EXECUTION = "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]"


MIN_REASON = 30  # an acknowledgement without a real reason is a silent suppression


def _ack(scope: IConstruct, rule: str, reason: str) -> None:
    if len(reason.strip()) < MIN_REASON:
        raise ValueError(f"cdk-nag acknowledgement of {rule} needs a real reason, got {reason!r}")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=PREFIX + rule, reason=reason))


def _logical_id(stack: cdk.Stack, construct: IConstruct) -> str:
    return stack.resolve(stack.get_logical_id(construct.node.default_child))


def acknowledge_findings(stack: PersonaStack) -> None:
    topology = stack.topology
    for spec in topology.functions:
        fn = stack.functions[spec.id]
        _ack(fn, BASIC_EXECUTION, "Only CloudWatch Logs writes, to the function's own log group.")
        _ack(fn, "IAM5[Resource::*]", "X-Ray PutTraceSegments/PutTelemetryRecords have no resource-level permissions.")
        kinds = {g.kind for g in spec.grants}
        if kinds & {"table", "bucket"}:
            for action in ("kms:ReEncrypt*", "kms:GenerateDataKey*"):
                _ack(fn, f"IAM5[Action::{action}]", "KMS actions CDK grants for the one data key of the granted table or bucket.")
        for grant in spec.grants:
            if grant.kind != "bucket":
                continue
            bucket_id = _logical_id(stack, stack.buckets[grant.id])
            if grant.objects:
                _ack(fn, f"IAM5[Resource::<{bucket_id}.Arn>/{grant.objects}]",
                     f"s3:GetObject on the {grant.id} objects matching {grant.objects} only.")
                continue
            for action in BUCKET_GRANT_ACTIONS[grant.access]:
                _ack(fn, f"IAM5[Action::{action}]", f"{action} on the {grant.id} bucket only ({grant.access} grant from the topology).")
            _ack(fn, f"IAM5[Resource::<{bucket_id}.Arn>/*]", f"Objects of the granted {grant.id} bucket only.")

    for secret in stack.secrets.values():
        _ack(secret, "SMG4", "A keyed-hash and token-signing key: rotating it would orphan the suppression list's "
             "hashes and void open verification links, so it is rotated by a planned re-keying, not on a timer.")

    _ack(stack.api, "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
         "API Gateway's account-level role that writes execution logs; AWS maintains it.")
    _ack(stack.api, "APIG3", "WAF is attached per deployment (an account-level web ACL with the owner's rules); "
         "stage throttling and request validation protect the functions meanwhile.")
    _ack(stack.api, "COG4", "Shoppers are pseudonymous (no user pool); admin routes use IAM authorization instead.")
    for route in topology.routes:
        if route.auth == "public":
            method = stack.api.root.resource_for_path(route.path).node.find_child(route.method)
            _ack(method, "APIG4", "Called by the storefront without credentials by design; input is validated by the handler.")

    if getattr(stack, "distribution", None) is not None:
        _ack(stack.distribution, "CFR1", "The web pages serve every market; no geo restriction is wanted.")
        _ack(stack.distribution, "CFR2", "Static pages only; a WAF web ACL can be attached per deployment.")
        _ack(stack.distribution, "CFR4", "The default *.cloudfront.net certificate allows old TLS; with a custom domain "
             "the distribution's TLSv1.2_2021 policy applies.")

    # Handlers that CDK itself provides for bucket notifications and the web deployment.
    for child in stack.node.children:
        path = child.node.id
        if path.startswith("BucketNotificationsHandler"):
            _ack(child, BASIC_EXECUTION, "CDK's bucket-notification handler: log writes only.")
        if path.startswith("Custom::CDKBucketDeployment"):
            _ack(child, BASIC_EXECUTION, "CDK's BucketDeployment handler: log writes only.")
            _ack(child, "L1", "CDK's BucketDeployment handler pins its own runtime.")
            _ack(child, "IAM5[Resource::*]", "CloudFront invalidations (after each web deployment) have no resource-level permissions.")
            for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*"):
                _ack(child, f"IAM5[Action::{action}]", "CDK's BucketDeployment copies web/ from the asset bucket into the web bucket.")
            _ack(child, "IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
                 "Reads the web/ asset from CDK's bootstrap asset bucket.")
            if "web" in stack.buckets:
                _ack(child, f"IAM5[Resource::<{_logical_id(stack, stack.buckets['web'])}.Arn>/*]",
                     "Writes the web pages into the web bucket only.")
