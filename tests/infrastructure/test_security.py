"""Least privilege, cfn-lint and cdk-nag on the synthesized template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.topology import CORRECTIONS_OBJECTS, TOPOLOGY
from tests.infrastructure.conftest import logical_id

pytestmark = pytest.mark.infrastructure


def _referenced_ids(node) -> set[str]:
    """Logical ids referenced by Ref / Fn::GetAtt anywhere inside `node`."""
    found: set[str] = set()
    if isinstance(node, dict):
        if "Ref" in node and isinstance(node["Ref"], str):
            found.add(node["Ref"])
        if "Fn::GetAtt" in node:
            found.add(node["Fn::GetAtt"][0])
        for value in node.values():
            found |= _referenced_ids(value)
    elif isinstance(node, list):
        for value in node:
            found |= _referenced_ids(value)
    return found


def _policy_references(stack, template, function_id: str) -> set[str]:
    role_id = logical_id(stack, stack.functions[function_id].role)
    refs: set[str] = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            refs |= _referenced_ids(policy["Properties"]["PolicyDocument"])
    return refs


def test_each_function_reaches_only_the_tables_and_buckets_it_is_granted(stack, template):
    table_ids = {logical_id(stack, t): i for i, t in stack.tables.items()}
    bucket_ids = {logical_id(stack, b): i for i, b in stack.buckets.items()}
    for spec in TOPOLOGY.functions:
        refs = _policy_references(stack, template, spec.id)
        granted_tables = {g.id for g in spec.grants if g.kind == "table"}
        granted_buckets = {g.id for g in spec.grants if g.kind == "bucket"}
        assert {table_ids[r] for r in refs if r in table_ids} == granted_tables, spec.id
        assert {bucket_ids[r] for r in refs if r in bucket_ids} == granted_buckets, spec.id


def test_no_function_touches_another_contexts_table(stack, template):
    table_ids = {logical_id(stack, stack.tables[t.id]): t.context for t in TOPOLOGY.tables}
    for spec in TOPOLOGY.functions:
        contexts = {table_ids[r] for r in _policy_references(stack, template, spec.id) if r in table_ids}
        assert contexts <= {spec.context}, f"{spec.id} ({spec.context}) can reach tables of {contexts - {spec.context}}"


def test_only_bus_publishers_may_put_events(stack, template):
    bus_id = logical_id(stack, stack.bus)
    for spec in TOPOLOGY.functions:
        publishes = any(g.kind == "bus" for g in spec.grants)
        assert (bus_id in _policy_references(stack, template, spec.id)) == publishes, spec.id


def test_cfn_lint_reports_no_errors(template_path: Path):
    # W3005 (redundant DependsOn) is noise from CDK's generated output.
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", "--ignore-checks", "W3005", "--", str(template_path)],
        capture_output=True, text=True,
    )
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["Level"] == "Error"]
    assert errors == [], json.dumps(errors, indent=2)


def test_cdk_nag_has_no_unacknowledged_finding(synthesized, tmp_path):
    """The session synth passed cdk-nag; prove the check bites: without acknowledgements it fails."""
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from infra.stacks.persona_stack import PersonaStack

    app = cdk.App(outdir=str(tmp_path), context={"aws:cdk:bundling-stacks": []})
    PersonaStack(app, "Unacknowledged")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"].split("[")[0] for p in report["pluginReports"] for v in p["violations"]}
    assert "AwsSolutions-APIG4" in rules  # e.g. the public storefront routes


def test_an_acknowledgement_needs_a_real_reason(stack):
    from infra.nag import _ack

    with pytest.raises(ValueError, match="real reason"):
        _ack(stack, "IAM5[Resource::*]", "ok")


# ---------------------------------------------------------------- no wildcards on data stores

# Actions AWS offers no resource-level permissions for: the only ones allowed on Resource "*".
NO_RESOURCE_LEVEL = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"}
DATA_SERVICES = ("dynamodb", "s3", "sqs", "kms", "secretsmanager", "events", "sns")


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _allow_statements(template):
    """(resource id, statement) of every Allow in identity and resource policies."""
    documents = []
    for rid, resource in template.to_json()["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("PolicyDocument", "KeyPolicy"):
            if key in props:
                documents.append((rid, resource["Type"], props[key]))
        for inline in props.get("Policies", []) if resource["Type"] == "AWS::IAM::Role" else []:  # inline policies of roles
            documents.append((rid, resource["Type"], inline["PolicyDocument"]))
    return [(rid, kind, s) for rid, kind, doc in documents for s in doc["Statement"] if s["Effect"] == "Allow"]


def _is_account_root(principal) -> bool:
    text = json.dumps(principal)
    return ":iam::" in text and ":root" in text


def test_no_allow_statement_grants_every_action_of_a_data_service(template):
    for rid, kind, statement in _allow_statements(template):
        if kind == "AWS::KMS::Key" and _is_account_root(statement.get("Principal")):
            continue  # the key's default admin statement: lets IAM policies of this account grant use of the key at all
        for action in _as_list(statement["Action"]):
            assert action != "*" and not any(action == f"{s}:*" for s in DATA_SERVICES), (rid, statement)


def test_resource_star_only_for_actions_without_resource_level_permissions(template):
    for rid, kind, statement in _allow_statements(template):
        if kind == "AWS::KMS::Key":
            continue  # in a key policy "*" means this key
        if "*" in _as_list(statement.get("Resource", [])):
            assert set(_as_list(statement["Action"])) <= NO_RESOURCE_LEVEL, (rid, statement)


# ---------------------------------------------------------------- each function stays in its context

_S3_DROP_ACTIONS = {"s3:PutObject", "s3:PutObjectLegalHold", "s3:PutObjectRetention", "s3:PutObjectTagging",
                    "s3:PutObjectVersionTagging", "s3:Abort*"}
_SQS_CONSUME = {"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"}


def _owners(stack) -> dict[str, tuple[str, str, str]]:
    """Logical id of every data store -> (kind, id, owning context)."""
    owners = {logical_id(stack, stack.tables[t.id]): ("table", t.id, t.context) for t in TOPOLOGY.tables}
    owners |= {logical_id(stack, stack.buckets[b.id]): ("bucket", b.id, b.context) for b in TOPOLOGY.buckets}
    owners |= {logical_id(stack, stack.secrets[s.id]): ("secret", s.id, s.context) for s in TOPOLOGY.secrets}
    for q in TOPOLOGY.queues:
        context = TOPOLOGY.function(q.consumer).context
        owners[logical_id(stack, stack.queues[q.id])] = ("queue", q.id, context)
        owners[logical_id(stack, stack.dead_letter_queues[q.id])] = ("dlq", q.id, context)
    return owners


def _function_statements(stack, template, function_id: str) -> list[dict]:
    role_id = logical_id(stack, stack.functions[function_id].role)
    return [s for p in template.find_resources("AWS::IAM::Policy").values() if {"Ref": role_id} in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _only_objects(statement: dict, bucket_ref: str, pattern: str | None) -> bool:
    """The statement reads just the objects matching `pattern` (not the bucket, not all its objects)."""
    wanted = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_ref, "Arn"]}, f"/{pattern}"]]}
    return pattern == CORRECTIONS_OBJECTS and set(_as_list(statement["Action"])) == {"s3:GetObject"} and _as_list(statement["Resource"]) == [wanted]


def test_each_function_touches_only_its_own_contexts_data_stores(stack, template):
    """Tables, buckets, queues and secrets of its own context (and secrets another context shares with it). Of another context's only the exports
    bucket: as a drop box (put, never list or delete: each context writes its part of an access export,
    the privacy context alone reads them), and to read objects the topology names by a key pattern (the
    corrected values of a rectification). Queues: only the function's own, to consume."""
    owners = _owners(stack)
    for spec in TOPOLOGY.functions:
        patterns = {g.id: g.objects for g in spec.grants if g.kind == "bucket" and g.objects}
        for statement in _function_statements(stack, template, spec.id):
            actions = set(_as_list(statement["Action"]))
            for ref in _referenced_ids(statement.get("Resource")) & owners.keys():
                kind, resource_id, context = owners[ref]
                where = f"{spec.id} ({spec.context}) -> {kind} {resource_id} ({context}): {sorted(actions)}"
                if kind in ("queue", "dlq"):
                    assert kind == "queue" and TOPOLOGY.queue(resource_id).consumer == spec.id and actions <= _SQS_CONSUME, where
                elif kind == "secret" and context != spec.context:  # a key two contexts agree on, declared so
                    assert spec.context in {s.id: s for s in TOPOLOGY.secrets}[resource_id].shared_with, where
                elif context != spec.context:
                    assert kind == "bucket" and resource_id == "exports", where
                    assert actions <= _S3_DROP_ACTIONS or _only_objects(statement, ref, patterns.get(resource_id)), where
