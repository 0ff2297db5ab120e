"""Persona in one stack, built from `infra/topology.py`."""

from __future__ import annotations

import re

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import bundling
from infra.constructs import alarms, api, function, messaging, staff_auth, storage, web
from infra.topology import TOPOLOGY, Grant, Topology

WEB_BUCKET = "web"  # the bucket CloudFront serves
ALARM_EMAIL_CONTEXT = "alarm_email"  # who is told when an alarm fires (an SNS e-mail subscription)
# The lawful basis of storing storefront browsing and of behaviour segments (functions/profiles/settings.py).
LAWFUL_BASIS_CONTEXTS = ("browsing_basis", "behaviour_segments_basis")
CUSTOMER_ID_PATTERN_CONTEXT = "customer_id_pattern"  # e.g. ^C-[0-9]+$: the shape of the retailer's customer ids
# Verification links (the public API) and the links the privacy team hands over after verifying someone (admin).
SENDS_PRIVACY_LINKS = ("privacy_api", "privacy_admin")


class PersonaStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, topology: Topology = TOPOLOGY, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.topology = topology
        self.key = kms.Key(self, "data-key", enable_key_rotation=True, description="Persona data at rest")
        # CloudWatch alarms publish to the encrypted alarm topic.
        self.key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))

        names: dict[tuple[str, str], str] = {}
        self.bus = events.EventBus(self, "bus", event_bus_name=topology.bus)
        names[("bus", topology.bus)] = self.bus.event_bus_name

        self.tables = {t.id: storage.table(self, t, self.key) for t in topology.tables}
        names.update({("table", i): t.table_name for i, t in self.tables.items()})

        self.access_logs = storage.access_log_bucket(self)
        self.buckets = {
            b.id: storage.bucket(self, b, self.key, self.access_logs, served_by_cloudfront=b.id == WEB_BUCKET)
            for b in topology.buckets
        }
        names.update({("bucket", i): b.bucket_name for i, b in self.buckets.items()})

        self.secrets = {s.id: storage.secret(self, s, self.key) for s in topology.secrets}
        names.update({("secret", i): s.secret_name for i, s in self.secrets.items()})

        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for q in topology.queues:
            self.queues[q.id], self.dead_letter_queues[q.id] = messaging.consumer_queue(self, q, topology.function(q.consumer))
        names.update({("queue", i): q.queue_name for i, q in self.queues.items()})

        self.functions: dict[str, lambda_.Function] = {}
        for spec in topology.functions:
            fn = function.function(self, spec, topology.environment(spec, names))
            for grant in spec.grants:
                self._grant(fn, grant)
            self.functions[spec.id] = fn

        for q in topology.queues:
            self.functions[q.consumer].add_event_source(
                sources.SqsEventSource(
                    self.queues[q.id],
                    batch_size=q.batch_size,
                    max_batching_window=Duration.seconds(q.max_batching_window_s),
                    report_batch_item_failures=True,
                )
            )

        self.rules = {
            r.id: messaging.rule(self, r, self.bus, self.queues[r.queue], self.dead_letter_queues[r.queue])
            for r in topology.rules
        }
        for b in topology.buckets:
            for note in b.notifications:
                self.buckets[b.id].add_event_notification(
                    s3.EventType.OBJECT_CREATED,
                    s3n.SqsDestination(self.queues[note.queue]),
                    *([s3.NotificationKeyFilter(prefix=note.prefix)] if note.prefix else []),
                )

        self.schedules = {
            s.id: events.Rule(
                self, f"{s.id}-schedule",
                schedule=events.Schedule.expression(s.expression),
                targets=[targets.LambdaFunction(self.functions[s.function], retry_attempts=2)],
            )
            for s in topology.schedules
        }

        self.staff = staff_auth.user_pool(self)
        self.api = api.rest_api(self, topology.routes, self.functions, staff_auth.authorizer(self, self.staff))
        if WEB_BUCKET in self.buckets:
            self.distribution = web.distribution(self, self.buckets[WEB_BUCKET], self.access_logs, self.api)
            site = f"https://{self.distribution.distribution_domain_name}"
            self.dashboard_client, self.staff_domain = staff_auth.dashboard_client(self, self.staff, site)
            web.deploy_pages(self, self.buckets[WEB_BUCKET], self.distribution, bundling.REPO_ROOT / "web",
                             self.staff_domain.base_url(), self.dashboard_client.user_pool_client_id)
            # Verification links in privacy messages open the privacy centre on this site.
            for spec in topology.functions:
                if spec.id in SENDS_PRIVACY_LINKS:
                    self.functions[spec.id].add_environment("PERSONA_SITE_URL", f"https://{self.distribution.distribution_domain_name}")

        self.alarm_topic = sns.Topic(self, "alarms", display_name="Persona alarms", master_key=self.key, enforce_ssl=True)
        for queue_id, dlq in self.dead_letter_queues.items():
            alarms.dead_letters(self, queue_id, dlq, self.alarm_topic)
        for function_id, fn in self.functions.items():
            alarms.function_errors(self, function_id, fn, self.alarm_topic)
        alarms.api_server_errors(self, self.api, self.alarm_topic)
        alarms.failed_imports(self, self.alarm_topic)
        alarms.overdue_privacy_requests(self, self.alarm_topic)
        # What operators name in commands (`persona copy-back`, restores, secret changes): the physical names.
        for table_id, table in self.tables.items():
            CfnOutput(self, f"{table_id}-table-name", value=table.table_name, description=f"The live {table_id} table")
        for secret_id, secret in self.secrets.items():
            CfnOutput(self, f"{secret_id}-secret-name", value=secret.secret_name, description=f"The {secret_id} secret")
        customer_ids = self.node.try_get_context(CUSTOMER_ID_PATTERN_CONTEXT)
        if customer_ids:  # customers' ids before Persona hears of them (functions/privacy/settings.py)
            try:
                re.compile(customer_ids)
            except re.error as exc:
                raise ValueError(f"-c {CUSTOMER_ID_PATTERN_CONTEXT}={customer_ids!r} is not a regular expression: {exc}") from exc
            self.functions["privacy_api"].add_environment("CUSTOMER_ID_PATTERN", customer_ids)
        for name in LAWFUL_BASIS_CONTEXTS:  # `-c browsing_basis=legitimate_interest`: the retailer's legal call (docs/security.md)
            basis = self.node.try_get_context(name)
            if basis is None:
                continue
            if basis not in ("consent", "legitimate_interest"):
                raise ValueError(f"-c {name}={basis!r}: use consent or legitimate_interest")
            for function_id, fn in self.functions.items():
                if topology.function(function_id).context == "profiles":
                    fn.add_environment(name.upper(), basis)
        alarm_email = self.node.try_get_context(ALARM_EMAIL_CONTEXT)
        if alarm_email:  # the address confirms the subscription from the first message AWS sends it
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

    def _grant(self, fn: lambda_.Function, grant: Grant) -> None:
        """Least privilege: only what the topology grants, on that resource only."""
        if grant.kind == "table":
            table = self.tables[grant.id]
            {"read": table.grant_read_data, "write": table.grant_write_data, "read_write": table.grant_read_write_data}[grant.access](fn)
        elif grant.kind == "bucket":
            bucket = self.buckets[grant.id]
            if grant.objects:  # those objects only: no listing, nothing else of the bucket
                fn.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(grant.objects)]))
                self.key.grant_decrypt(fn)
                return
            {"read": bucket.grant_read, "write": bucket.grant_put, "read_write": bucket.grant_read_write}[grant.access](fn)
        elif grant.kind == "bus":
            self.bus.grant_put_events_to(fn)
        elif grant.kind == "queue":
            self.queues[grant.id].grant_send_messages(fn)
        elif grant.kind == "secret":
            self.secrets[grant.id].grant_read(fn)
