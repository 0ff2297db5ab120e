"""Everything the topology describes exists in the synthesized template, as configured."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from infra.topology import TOPOLOGY
from tests.infrastructure.conftest import logical_id

pytestmark = pytest.mark.infrastructure


def _resources(template, kind):
    return template.find_resources(kind)


def _path_of(resources, resource_id):
    """Full path of an AWS::ApiGateway::Resource, following ParentId references."""
    parts = []
    while resource_id in resources:
        props = resources[resource_id]["Properties"]
        parts.append(props["PathPart"])
        parent = props["ParentId"]
        resource_id = parent.get("Ref") if isinstance(parent, dict) else None
    return "/" + "/".join(reversed(parts))


def test_every_route_is_a_method_with_its_authorization(template):
    resources = _resources(template, "AWS::ApiGateway::Resource")
    methods = {}
    for method in _resources(template, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"].get("Ref") if isinstance(props["ResourceId"], dict) else None
        methods[(props["HttpMethod"], _path_of(resources, resource))] = props
    for route in TOPOLOGY.routes:
        props = methods[(route.method, route.path)]
        # Staff through Cognito; the retailer's backend IAM-signed (shared/trust.py); the storefront's routes public.
        assert props["AuthorizationType"] == {"admin": "COGNITO_USER_POOLS", "server": "AWS_IAM", "public": "NONE"}[route.auth], route
        assert ("AuthorizerId" in props) == (route.auth == "admin"), route
        assert props["Integration"]["Type"] == "AWS_PROXY"
        assert "RequestValidatorId" in props
    assert len(methods) == len(TOPOLOGY.routes)  # nothing reachable that the topology does not know


def test_api_stage_throttles_logs_and_traces(template):
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": Match.array_with([Match.object_like({"ThrottlingRateLimit": Match.any_value(), "LoggingLevel": "ERROR"})]),
        },
    )
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        template.has_resource_properties(
            "AWS::ApiGateway::GatewayResponse",
            {"ResponseType": response_type, "ResponseTemplates": {"application/json": Match.string_like_regexp('"error"')}},
        )


def test_every_function_is_configured_from_the_topology(stack, template):
    functions = _resources(template, "AWS::Lambda::Function")
    names = {("table", i): stack.resolve(t.table_name) for i, t in stack.tables.items()}
    names |= {("bucket", i): stack.resolve(b.bucket_name) for i, b in stack.buckets.items()}
    names |= {("queue", i): stack.resolve(q.queue_name) for i, q in stack.queues.items()}
    names |= {("secret", i): stack.resolve(s.secret_name) for i, s in stack.secrets.items()}
    names[("bus", TOPOLOGY.bus)] = stack.resolve(stack.bus.event_bus_name)
    for spec in TOPOLOGY.functions:
        props = functions[logical_id(stack, stack.functions[spec.id])]["Properties"]
        assert props["Runtime"] == "python3.14"
        assert props["Architectures"] == ["arm64"]
        assert props["Handler"] == spec.handler
        assert props["MemorySize"] == spec.memory_mb and props["Timeout"] == spec.timeout_s
        assert props.get("ReservedConcurrentExecutions") == spec.reserved_concurrency
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert "LogGroup" in props["LoggingConfig"]
        expected = TOPOLOGY.environment(spec, names) | {"POWERTOOLS_LOG_LEVEL": "INFO"}
        if spec.id in ("privacy_api", "privacy_admin"):  # links in privacy messages point at the CloudFront site
            site = stack.resolve(stack.distribution.distribution_domain_name)
            expected["PERSONA_SITE_URL"] = {"Fn::Join": ["", ["https://", site]]}
        if spec.id == "privacy_api":  # -c customer_id_pattern=... (the fixture's)
            expected["CUSTOMER_ID_PATTERN"] = "^C-[0-9]+$"
        if spec.context == "profiles":  # -c browsing_basis=legitimate_interest (the fixture's)
            expected["BROWSING_BASIS"] = "legitimate_interest"
        assert props["Environment"]["Variables"] == expected


def test_logs_are_kept_a_month_at_most(template):
    """Function logs, and access logs with callers' IP addresses (personal data): 30 days, then gone."""
    groups = _resources(template, "AWS::Logs::LogGroup").values()
    assert groups and all(0 < g["Properties"]["RetentionInDays"] <= 30 for g in groups)
    logged_to = {json.dumps(b["Properties"]["LoggingConfiguration"]["DestinationBucketName"])
                 for b in _resources(template, "AWS::S3::Bucket").values() if "LoggingConfiguration" in b["Properties"]}
    access_log_buckets = [b for logical, b in _resources(template, "AWS::S3::Bucket").items() if json.dumps({"Ref": logical}) in logged_to]
    assert access_log_buckets
    for bucket in access_log_buckets:
        assert [r["ExpirationInDays"] for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]] == [30]


def test_tables_are_on_demand_encrypted_and_recoverable(stack, template):
    tables = _resources(template, "AWS::DynamoDB::Table")
    assert len(tables) == len(TOPOLOGY.tables)
    for spec in TOPOLOGY.tables:
        props = tables[logical_id(stack, stack.tables[spec.id])]["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"]["SSEEnabled"] is True and props["SSESpecification"]["SSEType"] == "KMS"
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        keys = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}
        assert keys == {spec.partition_key: "HASH", **({spec.sort_key: "RANGE"} if spec.sort_key else {})}
        assert [g["IndexName"] for g in props.get("GlobalSecondaryIndexes", [])] == [g.name for g in spec.gsis]


def test_buckets_are_private_encrypted_tls_only_and_logged(stack, template):
    buckets = _resources(template, "AWS::S3::Bucket")
    policies = {
        p["Properties"]["Bucket"]["Ref"]: p["Properties"]["PolicyDocument"]["Statement"]
        for p in _resources(template, "AWS::S3::BucketPolicy").values()
    }
    for spec in TOPOLOGY.buckets:
        bucket_id = logical_id(stack, stack.buckets[spec.id])
        props = buckets[bucket_id]["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
        }
        algorithm = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
        assert algorithm == ("AES256" if spec.id == "web" else "aws:kms")
        assert "LoggingConfiguration" in props
        assert any(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" and s["Effect"] == "Deny"
                   for s in policies[bucket_id])
        expirations = [r.get("ExpirationInDays") for r in props["LifecycleConfiguration"]["Rules"]]
        if spec.expire_after_days:
            assert spec.expire_after_days in expirations
        assert ("VersioningConfiguration" in props) == spec.versioned


def test_queues_have_dlqs_and_event_source_mappings_report_item_failures(stack, template):
    queues = _resources(template, "AWS::SQS::Queue")
    mappings = list(_resources(template, "AWS::Lambda::EventSourceMapping").values())
    for spec in TOPOLOGY.queues:
        queue_id, dlq_id = logical_id(stack, stack.queues[spec.id]), logical_id(stack, stack.dead_letter_queues[spec.id])
        props = queues[queue_id]["Properties"]
        assert props["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}, "maxReceiveCount": spec.max_receive_count}
        assert props["SqsManagedSseEnabled"] is True
        assert props["VisibilityTimeout"] == 6 * TOPOLOGY.function(spec.consumer).timeout_s
        (mapping,) = [m["Properties"] for m in mappings if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}]
        assert mapping["FunctionName"] == {"Ref": logical_id(stack, stack.functions[spec.consumer])}
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BatchSize"] == spec.batch_size


def test_rules_route_events_to_consumer_queues(stack, template):
    rules = _resources(template, "AWS::Events::Rule")
    for spec in TOPOLOGY.rules:
        props = rules[logical_id(stack, stack.rules[spec.id])]["Properties"]
        assert props["EventPattern"] == {"source": list(spec.sources), "detail-type": list(spec.detail_types)}
        assert props["EventBusName"] == {"Ref": logical_id(stack, stack.bus)}
        (target,) = props["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [logical_id(stack, stack.queues[spec.queue]), "Arn"]}
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [logical_id(stack, stack.dead_letter_queues[spec.queue]), "Arn"]}


def test_bucket_notifications_feed_their_queues(stack, template):
    notified = [n for b in TOPOLOGY.buckets for n in b.notifications]
    resources = _resources(template, "Custom::S3BucketNotifications").values()
    assert len(resources) == len({b.id for b in TOPOLOGY.buckets if b.notifications})  # one per bucket with notifications
    configured = [c for r in resources for c in r["Properties"]["NotificationConfiguration"]["QueueConfigurations"]]
    assert len(configured) == len(notified)
    for note in notified:
        queue_arn = {"Fn::GetAtt": [logical_id(stack, stack.queues[note.queue]), "Arn"]}
        prefix = [{"Name": "prefix", "Value": note.prefix}] if note.prefix else None
        assert any(c["QueueArn"] == queue_arn and c["Events"] == ["s3:ObjectCreated:*"]
                   and (c.get("Filter", {}).get("Key", {}).get("FilterRules") == prefix) for c in configured), note


def test_alarms_watch_every_dlq_and_function(template):
    alarms = _resources(template, "AWS::CloudWatch::Alarm").values()
    metric_names = [a["Properties"]["MetricName"] for a in alarms]
    assert metric_names.count("ApproximateNumberOfMessagesVisible") == len(TOPOLOGY.queues)
    assert metric_names.count("Errors") == len(TOPOLOGY.functions)
    assert "5XXError" in metric_names
    assert all(a["Properties"]["AlarmActions"] for a in alarms)


def test_failed_imports_and_overdue_privacy_requests_alarm_and_someone_is_told(template):
    """The metrics the functions emit (Powertools: namespace Persona, dimension service) have alarms, and the
    alarm topic has the e-mail subscription given at deploy time (`-c alarm_email=...`)."""
    alarms = {a["Properties"]["MetricName"]: a["Properties"] for a in _resources(template, "AWS::CloudWatch::Alarm").values()}
    for metric, service in (("ImportsFailed", "profiles"), ("PrivacyRequestsOverdue", "privacy")):
        assert alarms[metric]["Namespace"] == "Persona" and alarms[metric]["Dimensions"] == [{"Name": "service", "Value": service}]
        assert alarms[metric]["Threshold"] == 1 and alarms[metric]["AlarmActions"]
    (subscription,) = _resources(template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email" and subscription["Properties"]["Endpoint"] == "ops@example.org"


def test_web_is_served_by_cloudfront_with_origin_access_control(template):
    template.resource_count_is("AWS::CloudFront::OriginAccessControl", 1)
    template.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {"DistributionConfig": Match.object_like({"DefaultRootObject": "index.html",
            "DefaultCacheBehavior": Match.object_like({"ViewerProtocolPolicy": "redirect-to-https"}),
            # The API on the pages' own origin: no CORS, nothing cached, every method.
            "CacheBehaviors": [Match.object_like({"PathPattern": "/v1/*", "ViewerProtocolPolicy": "https-only",
                                                   "AllowedMethods": Match.array_with(["PUT", "PATCH", "POST", "DELETE"]),
                                                   "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"})]})},
    )


def test_staff_sign_in_with_a_user_pool_that_invites_and_needs_mfa(template):
    (pool,) = template.find_resources("AWS::Cognito::UserPool").values()
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True and props["MfaConfiguration"] == "ON"
    assert props["Policies"]["PasswordPolicy"]["MinimumLength"] >= 14
    (authorizer,) = template.find_resources("AWS::ApiGateway::Authorizer").values()
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    (client,) = template.find_resources("AWS::Cognito::UserPoolClient").values()
    client = client["Properties"]
    assert client["AllowedOAuthFlows"] == ["code"] and not client.get("GenerateSecret")  # a public client: PKCE
    assert "dashboard.html" in json.dumps(client["CallbackURLs"])


def test_secrets_are_generated_encrypted_and_readable_only_where_granted(stack, template):
    secrets = template.find_resources("AWS::SecretsManager::Secret")
    assert len(secrets) == len(TOPOLOGY.secrets)
    assert all(s["Properties"]["GenerateSecretString"]["PasswordLength"] == 64 and "KmsKeyId" in s["Properties"]
               for s in secrets.values())
    readers = {f.id for f in TOPOLOGY.functions if any(g.kind == "secret" and g.id == "profiles_keys" for g in f.grants)}
    secret_id = stack.resolve(stack.get_logical_id(stack.secrets["profiles_keys"].node.default_child))
    for spec in TOPOLOGY.functions:
        role = stack.resolve(stack.get_logical_id(stack.functions[spec.id].role.node.default_child))
        policies = [p for p in template.find_resources("AWS::IAM::Policy").values()
                    if {"Ref": role} in p["Properties"].get("Roles", [])]
        can_read = any({"Ref": secret_id} in _as_list(s.get("Resource")) and "secretsmanager:GetSecretValue" in s["Action"]
                       for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"])
        assert can_read == (spec.id in readers), spec.id


def test_the_web_pages_get_the_sign_in_settings_in_config_js(template):
    (deployment,) = template.find_resources("Custom::CDKBucketDeployment").values()
    properties = deployment["Properties"]
    assert len(properties["SourceObjectKeys"]) == 2  # web/ (without config.js) and the generated config.js
    (client,) = template.find_resources("AWS::Cognito::UserPoolClient")
    (domain,) = template.find_resources("AWS::Cognito::UserPoolDomain")
    markers = json.dumps(properties.get("SourceMarkers", []))
    assert json.dumps({"Ref": client}) in markers and json.dumps({"Ref": domain}) in markers  # filled in at deploy time


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_the_stack_names_its_tables_and_secrets_for_operators(template):
    """`persona copy-back` and the runbooks in docs/operations.md take these names."""
    outputs = template.to_json()["Outputs"]
    described = {o.get("Description") for o in outputs.values()}
    assert {f"The live {t.id} table" for t in TOPOLOGY.tables} <= described
    assert {f"The {s.id} secret" for s in TOPOLOGY.secrets} <= described
