"""CloudWatch for deployed workloads: a log group with retention, and health alarms."""

from __future__ import annotations

from typing import Any

from podium_aws.clients import AwsClients, aws_errors, error_code
from podium_aws.naming import tag_list


def log_group_name(platform: str, environment: str, workload: str) -> str:
    return f"/podium/{platform}/{environment}/{workload}"


def ensure_log_group(
    clients: AwsClients, name: str, retention_days: int, tags: dict[str, str]
) -> str:
    """Create the group if needed, set its retention and tags; return its ARN."""
    from botocore.exceptions import ClientError

    logs = clients.client("logs")
    with aws_errors(f"logs:CreateLogGroup {name}"):
        try:
            logs.create_log_group(logGroupName=name, tags=tags)
        except ClientError as exc:
            if error_code(exc) != "ResourceAlreadyExistsException":
                raise
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
        for group in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]:
            if group["logGroupName"] == name:
                return str(group["arn"]).removesuffix(":*")
    raise AssertionError(f"log group {name} missing right after it was created")


def log_group_tags(clients: AwsClients, name: str) -> dict[str, str] | None:
    """The log group's tags, or ``None`` when there is no such group."""
    from botocore.exceptions import ClientError

    with aws_errors(f"logs:ListTagsLogGroup {name}"):
        try:
            found = clients.client("logs").list_tags_log_group(logGroupName=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
    return dict(found.get("tags", {}))


def tag_log_group(clients: AwsClients, name: str, tags: dict[str, str]) -> None:
    with aws_errors(f"logs:TagLogGroup {name}"):
        clients.client("logs").tag_log_group(logGroupName=name, tags=tags)


def delete_log_group(clients: AwsClients, name: str) -> None:
    from botocore.exceptions import ClientError

    with aws_errors(f"logs:DeleteLogGroup {name}"):
        try:
            clients.client("logs").delete_log_group(logGroupName=name)
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise


def alarm_names(service: str) -> list[str]:
    return [f"{service}-cpu-high", f"{service}-memory-high"]


def ensure_alarms(
    clients: AwsClients, *, cluster: str, service: str, cpu_threshold: float, tags: dict[str, str]
) -> list[str]:
    """CPU and memory alarms on the ECS service (``put_metric_alarm`` is an upsert)."""
    cloudwatch = clients.client("cloudwatch")
    dimensions = [
        {"Name": "ClusterName", "Value": cluster},
        {"Name": "ServiceName", "Value": service},
    ]
    cpu_name, memory_name = alarm_names(service)
    common: dict[str, Any] = {
        "Namespace": "AWS/ECS",
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 5,
        "ComparisonOperator": "GreaterThanThreshold",
        "Dimensions": dimensions,
        "TreatMissingData": "missing",
        "Tags": tag_list(tags),
    }
    with aws_errors(f"cloudwatch:PutMetricAlarm {service}"):
        cloudwatch.put_metric_alarm(
            AlarmName=cpu_name,
            AlarmDescription=f"podium: CPU of {service} above {cpu_threshold}%",
            MetricName="CPUUtilization",
            Threshold=cpu_threshold,
            **common,
        )
        cloudwatch.put_metric_alarm(
            AlarmName=memory_name,
            AlarmDescription=f"podium: memory of {service} above 90%",
            MetricName="MemoryUtilization",
            Threshold=90.0,
            **common,
        )
    return [cpu_name, memory_name]


def delete_alarms(clients: AwsClients, names: list[str]) -> None:
    with aws_errors("cloudwatch:DeleteAlarms"):
        clients.client("cloudwatch").delete_alarms(AlarmNames=names)
