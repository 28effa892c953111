"""Safe AWS defaults (issue 14, item 8), each against the moto server over HTTP.

ElastiCache's AUTH token set on adoption; ``ExpectedBucketOwner`` on every bucket call;
exact ECR repository ARNs; separate task and execution roles trusted only from this
account; point-in-time recovery and versioning in protected environments; a
``name_prefix`` change moves an ECS workload instead of leaving its old service behind.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import pytest
from conftest import Gate

from podium.plugin import DeployContext, RenderedContainer, RenderedWorkload
from podium_aws.clients import AwsClients
from podium_aws.deploy.ecs import EcsDeployer
from podium_aws.provisioners.dynamodb import DynamoDbTableProvisioner
from podium_aws.provisioners.elasticache import ElastiCacheRedisProvisioner
from podium_aws.provisioners.s3 import S3BucketProvisioner
from podium_aws.settings import Settings

#: moto's default account: what the credentials of every test belong to.
ACCOUNT = "123456789012"
ECR = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"


def _protected(factory: Any) -> Any:
    factory.env = replace(factory.env, protect_data=True)
    return factory


def _policy(boto: Any, role_arn: str) -> dict[str, Any]:
    role = role_arn.rsplit("/", 1)[-1]
    document = boto("iam").get_role_policy(RoleName=role, PolicyName="podium-workload")
    found = document["PolicyDocument"]
    return json.loads(found) if isinstance(found, str) else dict(found)


def _app(*images: str) -> RenderedWorkload:
    return RenderedWorkload(
        name="web",
        containers={
            f"c{i}": RenderedContainer(name=f"c{i}", image=image) for i, image in enumerate(images)
        },
    )


# --- ElastiCache ---------------------------------------------------------------------
def test_an_adopted_redis_group_gets_the_auth_token_podium_outputs(
    settings: Settings,
    clients: AwsClients,
    boto: Any,
    gate: Gate,
    podium_resource_context: Any,
) -> None:
    provisioner = ElastiCacheRedisProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, name="cache")
    group_id = provisioner.name_for(ctx)
    # Made elsewhere (or its record and generated token were lost): another token.
    boto("elasticache").create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="made by hand",
        Engine="redis",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=1,
        TransitEncryptionEnabled=True,
        AuthToken="an-old-token-nobody-knows-now",
    )
    sent = gate.record()
    outputs = provisioner.create(ctx)
    token = outputs["password"].reveal()
    modifies = [
        parse_qs(request.split(b"\n", 2)[2].decode())
        for request, _ in sent
        if b"Action=ModifyReplicationGroup" in request
    ]
    assert [m["AuthToken"] for m in modifies] == [[token]], "the output token was never set"
    assert modifies[0]["ReplicationGroupId"] == [group_id]

    # Set once: the next apply finds the token's fingerprint and changes nothing.
    sent.clear()
    assert provisioner.create(ctx)["password"].reveal() == token
    assert not any(b"Action=ModifyReplicationGroup" in r for r, _ in sent)


# --- S3 -----------------------------------------------------------------------------
def test_every_call_on_a_bucket_names_the_expected_owner(
    settings: Settings, clients: AwsClients, gate: Gate, podium_resource_context: Any
) -> None:
    provisioner = S3BucketProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, name="media", params={"force_destroy": True})
    bucket = provisioner.name_for(ctx)
    sent = gate.record()
    provisioner.create(ctx)
    provisioner.read(ctx)
    provisioner.update(ctx, {})
    provisioner.delete(ctx)
    on_bucket = [
        (request.split(b"\n", 2)[1].decode(), headers)
        for request, headers in sent
        if request.split(b"\n", 2)[1].split(b" ")[1].startswith(f"/{bucket}".encode())
    ]
    # CreateBucket takes no owner: AWS refuses it anyway when another account has the name.
    checked = [(line, h) for line, h in on_bucket if line != f"PUT /{bucket}?"]
    assert len(checked) >= 8, on_bucket
    unchecked = [line for line, h in checked if h.get("x-amz-expected-bucket-owner") != ACCOUNT]
    assert unchecked == [], "bucket calls without ExpectedBucketOwner"


def test_buckets_are_versioned_by_default_in_protected_environments_only(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = S3BucketProvisioner(settings, clients)
    dev = podium_resource_context(provisioner, name="scratch", params={"access_keys": False})
    prod = _protected(podium_resource_context)(
        provisioner, name="media", params={"access_keys": False}
    )
    opted_out = podium_resource_context(
        provisioner, name="logs", params={"access_keys": False, "versioning": False}
    )
    s3 = boto("s3")
    for ctx in (dev, prod, opted_out):
        provisioner.create(ctx)
    assert s3.get_bucket_versioning(Bucket=provisioner.name_for(prod)).get("Status") == "Enabled"
    assert s3.get_bucket_versioning(Bucket=provisioner.name_for(dev)).get("Status") is None
    assert s3.get_bucket_versioning(Bucket=provisioner.name_for(opted_out)).get("Status") is None


# --- DynamoDB -----------------------------------------------------------------------
def _pitr(boto: Any, table: str) -> str:
    described = boto("dynamodb").describe_continuous_backups(TableName=table)
    return str(
        described["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
            "PointInTimeRecoveryStatus"
        ]
    )


def test_tables_have_point_in_time_recovery_by_default_in_protected_environments(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = DynamoDbTableProvisioner(settings, clients)
    dev = podium_resource_context(provisioner, name="cache")
    chosen = podium_resource_context(
        provisioner, name="events", params={"point_in_time_recovery": True}
    )
    protected = _protected(podium_resource_context)
    prod = protected(provisioner, name="orders")
    opted_out = protected(provisioner, name="scratch", params={"point_in_time_recovery": False})
    for ctx in (dev, chosen, prod, opted_out):
        provisioner.create(ctx)
    assert _pitr(boto, provisioner.name_for(prod)) == "ENABLED"
    assert _pitr(boto, provisioner.name_for(chosen)) == "ENABLED"
    assert _pitr(boto, provisioner.name_for(dev)) == "DISABLED"
    assert _pitr(boto, provisioner.name_for(opted_out)) == "DISABLED"


# --- ECS: roles, trust, ECR ---------------------------------------------------------
@pytest.fixture
def deployer(settings: Settings, clients: AwsClients) -> EcsDeployer:
    return EcsDeployer(settings, clients)


@pytest.fixture
def ctx(env: Any) -> DeployContext:
    return DeployContext(workload="web", env=env)


def test_task_and_execution_roles_are_separate_and_trust_only_this_account(
    deployer: EcsDeployer, ctx: DeployContext, boto: Any
) -> None:
    out = deployer.deploy(ctx, _app(f"{ECR}/shop/web:1")).outputs
    task = boto("ecs").describe_task_definition(taskDefinition=out["task_definition_arn"])
    task_role = task["taskDefinition"]["taskRoleArn"]
    execution_role = task["taskDefinition"]["executionRoleArn"]
    assert task_role != execution_role
    for arn in (task_role, execution_role):
        trust = boto("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]
        (statement,) = trust["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}

    # Pulling images is ECS's business, not the application's.
    def actions(arn: str) -> set[str]:
        return {a for st in _policy_or_empty(boto, arn) for a in st["Action"]}

    assert "ecr:BatchGetImage" in actions(execution_role)
    assert "ecr:BatchGetImage" not in actions(task_role)


def _policy_or_empty(boto: Any, role_arn: str) -> list[dict[str, Any]]:
    role = role_arn.rsplit("/", 1)[-1]
    names = boto("iam").list_role_policies(RoleName=role)["PolicyNames"]
    return _policy(boto, role_arn)["Statement"] if names else []


def test_an_adopted_role_gets_the_account_condition_in_its_trust_policy(
    deployer: EcsDeployer, ctx: DeployContext, boto: Any
) -> None:
    names = deployer.names(ctx)
    open_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    boto("iam").create_role(RoleName=names.role, AssumeRolePolicyDocument=json.dumps(open_trust))
    deployer.deploy(ctx, _app("shop/web:1"))
    trust = boto("iam").get_role(RoleName=names.role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        (f"{ECR}/shop/web:1", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/shop/web"),
        (f"{ECR}/web@sha256:{'a' * 64}", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/web"),
        (f"{ECR}/*:latest", None),  # a wildcard from an untrusted Score file
        (f"{ECR}/shop/*", None),
        (f"{ECR}/", None),
        (f"registry.example.com/{ECR}/web:1", None),  # not ECR at all
        ("evil.dkr.ecr.example.com/web:1", None),
        ("nginx:1.27", None),
    ],
)
def test_ecr_pull_is_granted_on_the_exact_repository_or_not_at_all(
    deployer: EcsDeployer, ctx: DeployContext, boto: Any, image: str, repository: str | None
) -> None:
    out = deployer.deploy(ctx, _app(image)).outputs
    task = boto("ecs").describe_task_definition(taskDefinition=out["task_definition_arn"])
    roles = {task["taskDefinition"]["taskRoleArn"], task["taskDefinition"]["executionRoleArn"]}
    statements = [st for arn in roles for st in _policy_or_empty(boto, arn)]
    pull = [st["Resource"] for st in statements if "ecr:BatchGetImage" in st["Action"]]
    auth = [st for st in statements if "ecr:GetAuthorizationToken" in st["Action"]]
    if repository is None:
        assert pull == [] and auth == [], "an image that is no exact ECR reference got ECR"
    else:
        assert pull == [[repository]]
        assert len(auth) == 1


# --- ECS: name_prefix ------------------------------------------------------------------
def _live_services(boto: Any) -> list[str]:
    ecs = boto("ecs")
    arns = ecs.list_services(cluster="podium")["serviceArns"]
    if not arns:
        return []
    described = ecs.describe_services(cluster="podium", services=arns)["services"]
    return sorted(s["serviceName"] for s in described if s["status"] == "ACTIVE")


def test_a_name_prefix_change_moves_the_ecs_workload_instead_of_leaving_it_behind(
    settings: Settings, clients: AwsClients, ctx: DeployContext, boto: Any
) -> None:
    before = EcsDeployer(settings.model_copy(update={"name_prefix": "blue"}), clients)
    old = before.deploy(ctx, _app("shop/web:1")).outputs
    assert _live_services(boto) == [old["service_name"]]

    after = EcsDeployer(settings.model_copy(update={"name_prefix": "green"}), clients)
    status = after.status(ctx)
    # The refresh every `up` makes plans the move, saying why.
    assert status.needs_redeploy
    assert "name_prefix changed from 'blue' to 'green'" in status.message
    new = after.deploy(ctx, _app("shop/web:1")).outputs
    assert new["service_name"].startswith("green-")
    assert _live_services(boto) == [new["service_name"]], "the old service was left running"
    roles = sorted(r["RoleName"] for r in boto("iam").list_roles()["Roles"])
    assert all(r.startswith("green-") for r in roles), roles
    assert not after.status(ctx).needs_redeploy

    after.destroy(ctx)
    assert _live_services(boto) == [] and boto("iam").list_roles()["Roles"] == []


def test_destroy_after_a_name_prefix_change_removes_the_old_deployment_too(
    settings: Settings, clients: AwsClients, ctx: DeployContext, boto: Any
) -> None:
    EcsDeployer(settings.model_copy(update={"name_prefix": "blue"}), clients).deploy(
        ctx, _app("shop/web:1")
    )
    after = EcsDeployer(settings.model_copy(update={"name_prefix": "green"}), clients)
    after.destroy(ctx)
    assert after.status(ctx).state == "absent"
    assert _live_services(boto) == [] and boto("iam").list_roles()["Roles"] == []
    assert boto("ecs").list_task_definitions(status="ACTIVE")["taskDefinitionArns"] == []


def test_a_log_group_from_before_the_prefix_tag_learns_it_on_the_next_deploy(
    deployer: EcsDeployer, ctx: DeployContext, boto: Any
) -> None:
    deployer.deploy(ctx, _app("shop/web:1"))
    group = deployer.names(ctx).log_group
    boto("logs").untag_log_group(logGroupName=group, tags=["podium:name-prefix"])
    deployer.deploy(ctx, _app("shop/web:2"))
    assert boto("logs").list_tags_log_group(logGroupName=group)["tags"]["podium:name-prefix"] == "-"


PREFIXED = """\
[platform]
name = "moving"
workloads = ["*.score.yaml"]

[plugins]
allow = ["aws"]

[plugins.aws]
region = "us-east-1"
endpoint_url = "{endpoint}"
name_prefix = "{prefix}"

[environments.dev]
deployer = "aws-ecs"
"""


def test_up_after_a_name_prefix_change_plans_the_move_and_leaves_one_service(
    aws: str, boto: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podium.plugin import Platform

    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    config = tmp_path / "podium.toml"
    score = tmp_path / "web.score.yaml"
    score.write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n"
        "containers:\n  main:\n    image: shop/web:1\n"
    )
    config.write_text(PREFIXED.format(endpoint=aws, prefix="blue"))
    with Platform.from_file(config) as platform:
        assert platform.up("dev", [score])[1].ok
    (old,) = _live_services(boto)

    config.write_text(PREFIXED.format(endpoint=aws, prefix="green"))
    with Platform.from_file(config) as platform:
        plan, result = platform.up("dev", [score])
        assert result.ok, result.to_dict()
    (moved,) = [c for c in plan.changes if c.uid == "deployment:web"]
    assert moved.action == "update"
    assert "name_prefix changed from 'blue' to 'green'" in moved.reason
    (new,) = _live_services(boto)
    assert old.startswith("blue-") and new.startswith("green-")
