"""Create every table, bucket, queue, bus and rule of a topology in moto."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from infra.topology import Topology, env_var

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account


def physical_name(kind: str, resource_id: str) -> str:
    return f"persona-{resource_id.replace('_', '-')}"


@dataclass
class Provisioned:
    """Physical names and addresses of what `provision` created."""

    names: dict[tuple[str, str], str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    dlq_urls: dict[str, str] = field(default_factory=dict)

    def environment(self, topology: Topology) -> dict[str, str]:
        """Union of every function's environment (one process hosts them all)."""
        env: dict[str, str] = {}
        for function in topology.functions:
            for name, value in topology.environment(function, self.names).items():
                if name != "POWERTOOLS_SERVICE_NAME":  # each handler names its service itself
                    env[name] = value
        return env


def provision(topology: Topology, clients: Any) -> Provisioned:
    """`clients(service)` returns a boto3 client pointed at moto."""
    out = Provisioned()
    ddb, s3, sqs, events = clients("dynamodb"), clients("s3"), clients("sqs"), clients("events")

    for table in topology.tables:
        name = physical_name("table", table.id)
        keys = [(table.partition_key, "HASH")] + ([(table.sort_key, "RANGE")] if table.sort_key else [])
        attributes = {k for k, _ in keys} | {a for g in table.gsis for a in (g.partition_key, g.sort_key) if a}
        kwargs: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": k, "KeyType": t} for k, t in keys],
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        }
        if table.gsis:
            kwargs["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": g.name,
                    "KeySchema": [{"AttributeName": g.partition_key, "KeyType": "HASH"}]
                    + ([{"AttributeName": g.sort_key, "KeyType": "RANGE"}] if g.sort_key else []),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for g in table.gsis
            ]
        ddb.create_table(**kwargs)
        if table.ttl_attribute:
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
            )
        out.names[("table", table.id)] = name

    for queue in topology.queues:
        name = physical_name("queue", queue.id)
        consumer = topology.function(queue.consumer)
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": str(14 * 86400)})["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(6 * consumer.timeout_s),  # AWS guidance for event-source mappings
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}),
            },
        )["QueueUrl"]
        out.queue_urls[queue.id] = url
        out.dlq_urls[queue.id] = dlq_url
        out.queue_arns[queue.id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        out.names[("queue", queue.id)] = name

    for bucket in topology.buckets:
        name = physical_name("bucket", bucket.id)
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if bucket.versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if bucket.notifications:
            s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {
                            "QueueArn": out.queue_arns[n.queue],
                            "Events": ["s3:ObjectCreated:*"],
                            **({"Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": n.prefix}]}}} if n.prefix else {}),
                        }
                        for n in bucket.notifications
                    ]
                },
            )
        out.names[("bucket", bucket.id)] = name

    for secret in topology.secrets:
        name = physical_name("secret", secret.id)
        clients("secretsmanager").create_secret(Name=name, SecretString=secrets.token_urlsafe(48))
        out.names[("secret", secret.id)] = name

    events.create_event_bus(Name=topology.bus)
    out.names[("bus", topology.bus)] = topology.bus
    for rule in topology.rules:
        name = physical_name("rule", rule.id)
        events.put_rule(Name=name, EventBusName=topology.bus, EventPattern=json.dumps(rule.pattern), State="ENABLED")
        events.put_targets(
            Rule=name, EventBusName=topology.bus, Targets=[{"Id": rule.queue, "Arn": out.queue_arns[rule.queue]}]
        )
        out.names[("rule", rule.id)] = name
    return out


__all__ = ["ACCOUNT", "REGION", "Provisioned", "env_var", "physical_name", "provision"]
