from __future__ import annotations

from dataclasses import replace

import pytest

from infra.topology import TOPOLOGY, Schedule
from tests.infrastructure.conftest import logical_id

pytestmark = pytest.mark.infrastructure


def test_a_schedule_becomes_a_rule_targeting_its_function(tmp_path):
    from aws_cdk.assertions import Template

    from infra.app import build_app

    topology = replace(TOPOLOGY, schedules=(Schedule("nightly", "platform_api", "cron(0 3 * * ? *)", local_interval_s=60),))
    _, stack = build_app(bundling=False, outdir=str(tmp_path), topology=topology)
    template = Template.from_stack(stack)
    rule = template.find_resources("AWS::Events::Rule", {"Properties": {"ScheduleExpression": "cron(0 3 * * ? *)"}})
    (props,) = [r["Properties"] for r in rule.values()]
    assert props["Targets"][0]["Arn"] == {"Fn::GetAtt": [logical_id(stack, stack.functions["platform_api"]), "Arn"]}
