"""The least-privilege policies of a workload's two IAM roles (pure: no AWS calls).

The task role is what the application runs as: it may touch exactly the resources
the workload declares, each resource type mapping to the actions an application
needs on that one resource's ARN. The execution role is what ECS uses to start the
tasks: logs, the workload's secret copies and its exact ECR repositories.
"""

from __future__ import annotations

import re
from typing import Any

from podium.plugin import RenderedWorkload
from podium_aws.clients import partition as aws_partition

#: The service that assumes both roles of a workload.
TASKS_SERVICE = "ecs-tasks.amazonaws.com"


def trust_policy(account: str) -> dict[str, Any]:
    """Only ECS tasks *of this account* may assume the role (no confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": TASKS_SERVICE},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        ],
    }


_S3_OBJECT = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
_SQS = [
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
_ECR_PULL = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
]
#: An ECR image reference; repository names follow ECR's own pattern (no wildcards).
_ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)"
    r"\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)
_DYNAMODB = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DescribeTable",
]


def task_policy(workload: RenderedWorkload, *, partition: str) -> dict[str, Any] | None:
    """What the application may do (the task role): its declared resources, nothing else.

    ``None`` when it declares none AWS knows: the task role then has no policy.
    """
    statements: list[dict[str, Any]] = []
    readable_secrets: list[str] = []
    for _key, resource in sorted(workload.resources.items()):
        out = resource.outputs
        if resource.type == "s3" and out.get("bucket"):
            bucket_arn = f"arn:{partition}:s3:::{out['bucket']}"
            statements.append(_allow(_sid("S3", resource.uid), ["s3:ListBucket"], [bucket_arn]))
            statements.append(
                _allow(_sid("S3Objects", resource.uid), _S3_OBJECT, [f"{bucket_arn}/*"])
            )
        elif resource.type in {"queue", "sqs"} and _is_arn(out.get("arn"), "sqs"):
            statements.append(_allow(_sid("Sqs", resource.uid), _SQS, [out["arn"]]))
        elif resource.type == "dynamodb" and _is_arn(out.get("arn"), "dynamodb"):
            arns = [out["arn"], f"{out['arn']}/index/*"]
            statements.append(_allow(_sid("DynamoDb", resource.uid), _DYNAMODB, arns))
        elif resource.type == "secret" and _is_arn(out.get("arn"), "secretsmanager"):
            readable_secrets.append(out["arn"])
    if readable_secrets:
        statements.append(
            _allow("ReadSecrets", ["secretsmanager:GetSecretValue"], sorted(set(readable_secrets)))
        )
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def execution_policy(
    workload: RenderedWorkload,
    *,
    log_group_arn: str,
    secret_arns: list[str],
) -> dict[str, Any]:
    """What ECS itself needs to start the tasks (the execution role): write the workload's
    logs, read its own secret copies into the environment, pull its images from ECR."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        }
    ]
    if secret_arns:
        statements.append(
            _allow("ReadOwnSecrets", ["secretsmanager:GetSecretValue"], sorted(set(secret_arns)))
        )
    repositories = sorted(
        {
            arn
            for c in workload.containers.values()
            if (arn := ecr_repository_arn(c.image)) is not None
        }
    )
    if repositories:
        # GetAuthorizationToken has no resource: it only logs in; the pull is per repository.
        statements.append(_allow("EcrAuth", ["ecr:GetAuthorizationToken"], ["*"]))
        statements.append(_allow("EcrPull", _ECR_PULL, repositories))
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def _sid(kind: str, uid: str) -> str:
    # Statement ids allow only letters and digits.
    return kind + "".join(ch for ch in uid.title() if ch.isalnum())


def _is_arn(value: Any, service: str) -> bool:
    return isinstance(value, str) and value.startswith("arn:") and f":{service}:" in value


def ecr_repository_arn(image: str) -> str | None:
    """The exact ARN of the ECR repository ``image`` is pulled from, or ``None``.

    Only a well-formed ECR reference
    (``<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag][@digest]``) counts:
    the image comes from an untrusted Score file, so anything else (``*`` in the name,
    another registry that merely contains ``.dkr.ecr.``) gets no ECR permission at all.
    """
    match = _ECR_IMAGE.fullmatch(image)
    if match is None:
        return None
    return (
        f"arn:{aws_partition(match['region'])}:ecr:{match['region']}:{match['account']}:"
        f"repository/{match['repository']}"
    )
