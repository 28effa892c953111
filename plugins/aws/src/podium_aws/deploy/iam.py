"""The least-privilege policy of a workload's IAM role (pure: no AWS calls).

A workload may touch exactly the resources it declares: each resource type it
knows maps to the actions an application needs on that one resource's ARN.
"""

from __future__ import annotations

from typing import Any

from podium.plugin import RenderedWorkload

TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
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


def workload_policy(
    workload: RenderedWorkload,
    *,
    partition: str,
    log_group_arn: str,
    secret_arns: list[str],
) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        }
    ]
    readable_secrets = list(secret_arns)
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
            _allow(
                "ReadOwnSecrets", ["secretsmanager:GetSecretValue"], sorted(set(readable_secrets))
            )
        )
    if any(".dkr.ecr." in c.image for c in workload.containers.values()):
        statements.append(_allow("EcrAuth", ["ecr:GetAuthorizationToken"], ["*"]))
        found = {_ecr_repository_arn(c.image, partition) for c in workload.containers.values()}
        repos = sorted(arn for arn in found if arn)
        statements.append(
            _allow(
                "EcrPull",
                [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                repos,
            )
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def _sid(kind: str, uid: str) -> str:
    # Statement ids allow only letters and digits.
    return kind + "".join(ch for ch in uid.title() if ch.isalnum())


def _is_arn(value: Any, service: str) -> bool:
    return isinstance(value, str) and value.startswith("arn:") and f":{service}:" in value


def _ecr_repository_arn(image: str, partition: str) -> str | None:
    """``123.dkr.ecr.eu-west-1.amazonaws.com/app:tag`` -> that repository's ARN."""
    if ".dkr.ecr." not in image or "/" not in image:
        return None
    registry, _, rest = image.partition("/")
    account, _, tail = registry.partition(".dkr.ecr.")
    region = tail.split(".")[0]
    repository = (
        rest.split("@")[0].rsplit(":", 1)[0] if ":" in rest.split("/")[-1] else rest.split("@")[0]
    )
    return f"arn:{partition}:ecr:{region}:{account}:repository/{repository}"
