"""The CDK app: `python infra/app.py` synthesizes offline (CDK_OUTDIR picks the folder).

Built from `infra/topology.py`; checked by cdk-nag's AWS Solutions rules at synth.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Run as a script (by the CDK CLI), Python puts infra/ first on the path, where
# infra/constructs/ would shadow the `constructs` library: put the repo root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.nag import acknowledge_findings  # noqa: E402
from infra.stacks.persona_stack import ALARM_EMAIL_CONTEXT, CUSTOMER_ID_PATTERN_CONTEXT, PersonaStack  # noqa: E402
from infra.topology import TOPOLOGY, Topology  # noqa: E402

STACK_NAME = "Persona"
# Feature flags live here, not in cdk.json, so `python infra/app.py`, the tests
# and the CDK CLI synthesize the same template.
FEATURE_FLAGS = {
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/core:checkSecretUsage": True,
}


def build_app(*, bundling: bool = True, outdir: str | None = None, topology: Topology = TOPOLOGY,
              alarm_email: str | None = None, customer_id_pattern: str | None = None,
              lawful_basis: dict[str, str] | None = None) -> tuple[cdk.App, PersonaStack]:
    context = dict(FEATURE_FLAGS)
    if alarm_email:  # also `cdk deploy -c alarm_email=ops@example.org`
        context[ALARM_EMAIL_CONTEXT] = alarm_email
    if customer_id_pattern:  # also `cdk deploy -c customer_id_pattern='^C-[0-9]+$'`
        context[CUSTOMER_ID_PATTERN_CONTEXT] = customer_id_pattern
    context.update(lawful_basis or {})  # also `cdk deploy -c browsing_basis=legitimate_interest`
    if not bundling:
        context["aws:cdk:bundling-stacks"] = []  # tests skip the pip installs
    app = cdk.App(outdir=outdir, context=context)
    stack = PersonaStack(
        app,
        STACK_NAME,
        topology=topology,
        description="Persona: serverless, GDPR-first personalization",
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    cdk.Tags.of(app).add("project", "persona")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    acknowledge_findings(stack)
    return app, stack


if __name__ == "__main__":
    app, _ = build_app(outdir=os.environ.get("CDK_OUTDIR"))
    app.synth()
