"""The aws-ecs deployer against moto: deploy, status, redeploy, rollback, logs, destroy."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from podium.plugin import (
    DeployContext,
    DeploymentResult,
    EnvironmentInfo,
    Release,
    RenderedContainer,
    RenderedFile,
    RenderedResource,
    RenderedWorkload,
    ResourceError,
    Secret,
    ServicePort,
)
from podium_aws.clients import AwsClients
from podium_aws.deploy.ecs import EcsDeployer
from podium_aws.plugin import podium_configure_telemetry
from podium_aws.settings import Settings

DB_PASSWORD = "pw-" + "s3cr3t-value-never-in-task-defs"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:shop-prod-jobs"


def workload(image: str = "shop/web:1", password: str = DB_PASSWORD, **annotations: str) -> Any:
    return RenderedWorkload(
        name="web",
        annotations=annotations,
        containers={
            "main": RenderedContainer(
                name="main",
                image=image,
                command=["/bin/server"],
                args=["--port", "8080"],
                variables={
                    "DB_HOST": "db.example.internal",
                    "DB_URL": Secret(f"postgres://app:{password}@db/app"),
                    "QUEUE_URL": "https://sqs/jobs",
                },
                limits={"memory": "256Mi", "cpu": "250m"},
            )
        },
        ports={"http": ServicePort(port=80, target_port=8080)},
        resources={
            "bucket": RenderedResource(
                uid="s3.default#web.bucket", type="s3", outputs={"bucket": "shop-prod-media"}
            ),
            "jobs": RenderedResource(
                uid="queue.default#web.jobs", type="queue", outputs={"arn": QUEUE_ARN}
            ),
            "db": RenderedResource(
                uid="postgres.default#web.db",
                type="postgres",
                outputs={"host": "db", "password": Secret(password)},
            ),
        },
    )


def granted_by(boto: Any, role_arn: str) -> dict[str, list[str]]:
    """Action -> resources that the role's inline podium policy allows."""
    role = role_arn.rsplit("/", 1)[-1]
    policy = boto("iam").get_role_policy(RoleName=role, PolicyName="podium-workload")
    document = policy["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(document)
    return {
        action: sorted(st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
        for st in document["Statement"]
        for action in st["Action"]
    }


@pytest.fixture
def deployer(settings: Settings, clients: AwsClients) -> EcsDeployer:
    return EcsDeployer(settings.model_copy(update={"log_retention_days": 14}), clients)


@pytest.fixture
def ctx(env: EnvironmentInfo) -> DeployContext:
    return DeployContext(workload="web", env=env, release=1)


def test_deploy_builds_service_task_definition_role_logs_and_alarms(
    deployer: EcsDeployer, ctx: DeployContext, boto: Any
) -> None:
    result = deployer.deploy(ctx, workload(**{"podium.aws/desired-count": "2"}))
    out = result.outputs
    ecs = boto("ecs")
    service = ecs.describe_services(cluster="podium", services=[out["service_name"]])["services"][0]
    assert service["desiredCount"] == 2 and service["status"] == "ACTIVE"
    assert service["taskDefinition"] == out["task_definition_arn"]

    described = ecs.describe_task_definition(taskDefinition=out["task_definition_arn"])
    task = described["taskDefinition"]
    # Two roles (issue 14): the application's, and the one ECS starts the tasks with.
    assert task["taskRoleArn"] == out["role_arn"]
    assert task["executionRoleArn"] == out["execution_role_arn"] != out["role_arn"]
    (main,) = task["containerDefinitions"]
    assert main["image"] == "shop/web:1"
    assert main["entryPoint"] == ["/bin/server"] and main["command"] == ["--port", "8080"]
    assert {e["name"]: e["value"] for e in main["environment"]} == {
        "DB_HOST": "db.example.internal",
        "QUEUE_URL": "https://sqs/jobs",
    }
    assert main["memory"] == 256 and main["cpu"] == 256
    assert main["portMappings"][0]["containerPort"] == 8080
    assert main["logConfiguration"]["options"]["awslogs-group"] == "/podium/shop/prod/web"

    # The secret variable is a Secrets Manager reference, pinned to a version.
    (ref,) = main["secrets"]
    assert ref["name"] == "DB_URL"
    secret_arn, version = ref["valueFrom"].rsplit(":::", 1)
    stored = boto("secretsmanager").get_secret_value(SecretId=secret_arn, VersionId=version)
    assert stored["SecretString"] == f"postgres://app:{DB_PASSWORD}@db/app"
    assert DB_PASSWORD not in json.dumps(described, default=str)
    assert DB_PASSWORD not in json.dumps(result.model_dump(), default=str)

    # Least privilege: the task role gets exactly the declared resources; the execution
    # role the workload's logs and its own secret copies.
    task_grants = granted_by(boto, out["role_arn"])
    assert task_grants["s3:ListBucket"] == ["arn:aws:s3:::shop-prod-media"]
    assert task_grants["s3:GetObject"] == ["arn:aws:s3:::shop-prod-media/*"]
    assert task_grants["sqs:SendMessage"] == [QUEUE_ARN]
    assert not any(a.startswith(("logs:", "secretsmanager:")) for a in task_grants)
    start_grants = granted_by(boto, out["execution_role_arn"])
    assert start_grants["secretsmanager:GetSecretValue"] == [secret_arn]
    assert start_grants["logs:PutLogEvents"][0].startswith("arn:aws:logs:us-east-1:")
    assert not any(a.startswith(("s3:", "sqs:")) for a in start_grants)
    for granted in (task_grants, start_grants):
        assert not any(r == "*" for rs in granted.values() for r in rs), "no wildcard resources"
        assert not any(a.endswith(":*") or a == "*" for a in granted), "no wildcard actions"
    for arn in (out["role_arn"], out["execution_role_arn"]):
        trust = boto("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]
        assert "ecs-tasks.amazonaws.com" in json.dumps(trust["AssumeRolePolicyDocument"])

    groups = boto("logs").describe_log_groups(logGroupNamePrefix="/podium/shop/prod/web")
    assert groups["logGroups"][0]["retentionInDays"] == 14
    alarms = boto("cloudwatch").describe_alarms(AlarmNames=out["alarms"])["MetricAlarms"]
    assert {a["MetricName"] for a in alarms} == {"CPUUtilization", "MemoryUtilization"}

    config = podium_configure_telemetry(workload=workload(), deployment=result, env=ctx.env)
    assert config is not None and config.outputs["log_group"] == "/podium/shop/prod/web"
    other = DeploymentResult(outputs={"provider": "local"})
    assert podium_configure_telemetry(workload=workload(), deployment=other, env=ctx.env) is None


def test_status_follows_running_versus_desired_tasks(
    deployer: EcsDeployer, ctx: DeployContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert deployer.status(ctx).state == "absent"
    # moto reports this many running tasks for a new service.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    deployer.deploy(ctx, workload(**{"podium.aws/desired-count": "3"}))
    status = deployer.status(ctx)
    assert status.state == "partial" and "1/3" in status.message
    assert not status.needs_redeploy  # ECS itself starts the missing tasks
    assert set(status.containers) == {"main"}

    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "0")
    deployer.destroy(ctx)
    deployer.deploy(ctx, workload())
    starting = deployer.status(ctx)
    assert starting.state == "down" and not starting.needs_redeploy
    # A rolling update that reaches the desired count (moto completes it at once).
    deployer.deploy(ctx, workload(image="shop/web:2"))
    assert deployer.status(ctx).state == "ready"


def test_redeploy_registers_a_new_revision_only_when_something_changed(
    deployer: EcsDeployer, ctx: DeployContext, boto: Any
) -> None:
    first = deployer.deploy(ctx, workload()).outputs["task_definition_arn"]
    assert deployer.deploy(ctx, workload()).outputs["task_definition_arn"] == first
    second = deployer.deploy(ctx, workload(image="shop/web:2")).outputs["task_definition_arn"]
    assert second != first and second.endswith(":2")
    rotated = deployer.deploy(ctx, workload(image="shop/web:2", password="rotated-pw"))
    third = rotated.outputs["task_definition_arn"]
    assert third.endswith(":3")
    ecs = boto("ecs")
    refs = [
        ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"][
            0
        ]["secrets"][0]["valueFrom"]
        for arn in (second, third)
    ]
    # Same secret, different pinned versions: the old revision still reads the old value.
    assert refs[0].rsplit(":::", 1)[0] == refs[1].rsplit(":::", 1)[0]
    sm = boto("secretsmanager")
    old = sm.get_secret_value(SecretId=refs[0].rsplit(":::")[0], VersionId=refs[0].rsplit(":::")[1])
    assert DB_PASSWORD in old["SecretString"]


def test_rollback_points_the_service_at_the_release_task_definition(
    deployer: EcsDeployer, ctx: DeployContext, env: EnvironmentInfo, boto: Any
) -> None:
    v1 = deployer.deploy(ctx, workload())
    v2 = deployer.deploy(DeployContext("web", env, 2), workload(image="shop/web:2"))
    assert v2.outputs["task_definition_arn"] != v1.outputs["task_definition_arn"]
    release = Release(
        number=1,
        workload=workload(),
        deployer="aws-ecs",
        outputs=v1.outputs,
        created_at=datetime.now(UTC),
    )
    back = deployer.rollback(DeployContext("web", env, 3), release)
    assert back.outputs["task_definition_arn"] == v1.outputs["task_definition_arn"]
    service = boto("ecs").describe_services(
        cluster="podium", services=[v1.outputs["service_name"]]
    )["services"][0]
    assert service["taskDefinition"] == v1.outputs["task_definition_arn"]

    # After a destroy the revision is gone: rollback deploys the release's workload again.
    deployer.destroy(ctx)
    again = deployer.rollback(DeployContext("web", env, 4), release)
    assert deployer.status(ctx).state != "absent"
    assert again.outputs["task_definition_arn"] != v1.outputs["task_definition_arn"]


def test_logs_come_from_the_workload_log_group(
    deployer: EcsDeployer, ctx: DeployContext, boto: Any
) -> None:
    deployer.deploy(ctx, workload())
    assert list(deployer.logs(ctx)) == []
    logs = boto("logs")
    group = "/podium/shop/prod/web"
    now = int(time.time() * 1000)
    for container, task in (("main", "t1"), ("sidecar", "t1")):
        stream = f"web/{container}/{task}"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[
                {"timestamp": now + i, "message": f"{container} line {i}"} for i in range(3)
            ],
        )
    lines = list(deployer.logs(ctx))
    assert len(lines) == 6 and {line.container for line in lines} == {"main", "sidecar"}
    main = list(deployer.logs(ctx, container="main", tail=2))
    assert [line.text for line in main] == ["main line 1", "main line 2"]
    assert main[0].timestamp is not None


def test_destroy_removes_everything_and_is_repeatable(
    deployer: EcsDeployer, ctx: DeployContext, boto: Any
) -> None:
    out = deployer.deploy(ctx, workload()).outputs
    deployer.deploy(ctx, workload(image="shop/web:2"))
    deployer.destroy(ctx)
    assert deployer.status(ctx).state == "absent"
    active = boto("ecs").list_task_definitions(familyPrefix=out["service_name"], status="ACTIVE")
    assert active["taskDefinitionArns"] == []
    assert boto("iam").list_roles()["Roles"] == []
    assert boto("logs").describe_log_groups(logGroupNamePrefix="/podium/")["logGroups"] == []
    assert boto("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert boto("secretsmanager").list_secrets()["SecretList"] == []
    deployer.destroy(ctx)


def test_files_are_refused_with_a_clear_error(deployer: EcsDeployer, ctx: DeployContext) -> None:
    bad = workload()
    bad.containers["main"].files.append(RenderedFile(target="/etc/app.conf", content="x"))
    with pytest.raises(ResourceError, match="container main"):
        deployer.deploy(ctx, bad)


def test_a_bad_desired_count_annotation_is_named(deployer: EcsDeployer, ctx: DeployContext) -> None:
    with pytest.raises(ResourceError, match=r"podium\.aws/desired-count"):
        deployer.deploy(ctx, workload(**{"podium.aws/desired-count": "many"}))
