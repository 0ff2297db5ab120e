"""Least privilege, cfn-lint and cdk-nag on the synthesized template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.topology import TOPOLOGY
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
