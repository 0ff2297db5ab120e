from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory):
    """The app synthesized once per session (Template.from_stack is slow), bundling skipped."""
    from aws_cdk.assertions import Template

    from infra.app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app(bundling=False, outdir=str(outdir), alarm_email="ops@example.org",
                           customer_id_pattern="^C-[0-9]+$", lawful_basis={"browsing_basis": "legitimate_interest"})
    assembly = app.synth()  # raises if cdk-nag reports an unacknowledged finding
    template_path = Path(assembly.directory) / f"{stack.stack_name}.template.json"
    return stack, Template.from_json(json.loads(template_path.read_text())), template_path


@pytest.fixture(scope="session")
def stack(synthesized):
    return synthesized[0]


@pytest.fixture(scope="session")
def template(synthesized):
    return synthesized[1]


@pytest.fixture(scope="session")
def template_path(synthesized):
    return synthesized[2]


def logical_id(stack, construct) -> str:
    return stack.resolve(stack.get_logical_id(construct.node.default_child))
