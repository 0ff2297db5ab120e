"""Alarms an operator must hear about: dead letters, function errors, API 5xx, failed imports, overdue privacy requests."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct


def _alarm(scope: Construct, alarm_id: str, metric: cloudwatch.IMetric, description: str, topic: sns.ITopic) -> cloudwatch.Alarm:
    alarm = cloudwatch.Alarm(
        scope,
        alarm_id,
        metric=metric,
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )
    alarm.add_alarm_action(actions.SnsAction(topic))
    return alarm


def dead_letters(scope: Construct, queue_id: str, dlq, topic: sns.ITopic) -> cloudwatch.Alarm:
    return _alarm(
        scope, f"{queue_id}-dlq-alarm",
        dlq.metric_approximate_number_of_messages_visible(period=Duration.minutes(5), statistic="Maximum"),
        f"Messages in the {queue_id} dead-letter queue: inspect them, fix the cause, then redrive them to their queue "
        f"(aws sqs start-message-move-task --source-arn {dlq.queue_arn}; locally: persona redrive {queue_id}).", topic,
    )


def function_errors(scope: Construct, function_id: str, fn, topic: sns.ITopic) -> cloudwatch.Alarm:
    return _alarm(
        scope, f"{function_id}-errors-alarm",
        fn.metric_errors(period=Duration.minutes(5), statistic="Sum"),
        f"{function_id} raised errors (a bug: handlers answer bad input with 4xx).", topic,
    )


def api_server_errors(scope: Construct, api, topic: sns.ITopic) -> cloudwatch.Alarm:
    return _alarm(
        scope, "api-5xx-alarm",
        api.metric_server_error(period=Duration.minutes(5), statistic="Sum"),
        "The API answered 5xx (always a bug).", topic,
    )


def _persona_metric(name: str, service: str, period: Duration, statistic: str) -> cloudwatch.Metric:
    """A metric the functions emit with Powertools (namespace Persona, dimension service)."""
    return cloudwatch.Metric(namespace="Persona", metric_name=name, dimensions_map={"service": service}, period=period, statistic=statistic)


def failed_imports(scope: Construct, topic: sns.ITopic) -> cloudwatch.Alarm:
    return _alarm(
        scope, "imports-failed-alarm", _persona_metric("ImportsFailed", "profiles", Duration.minutes(5), "Sum"),
        "A CRM export could not be imported (GET /v1/imports shows the report and its failure reason; fix the file "
        "or its mapping and drop it again).", topic,
    )


def overdue_privacy_requests(scope: Construct, topic: sns.ITopic) -> cloudwatch.Alarm:
    return _alarm(
        scope, "privacy-overdue-alarm", _persona_metric("PrivacyRequestsOverdue", "privacy", Duration.hours(1), "Maximum"),
        "A privacy request is past its legal deadline (GDPR Art. 12(3)): GET /v1/privacy-requests?overdue=true; "
        "answer it, or record an extension with its reason before the deadline next time.", topic,
    )
