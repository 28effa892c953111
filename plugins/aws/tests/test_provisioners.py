"""Each provisioner against moto: create/read/update/delete, idempotence, names and tags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from podium.plugin import Provisioner, ResourceError, Secret
from podium_aws.clients import AwsClients
from podium_aws.provisioners.dynamodb import DynamoDbTableProvisioner
from podium_aws.provisioners.elasticache import ElastiCacheRedisProvisioner
from podium_aws.provisioners.rds import RdsPostgresProvisioner
from podium_aws.provisioners.s3 import S3BucketProvisioner
from podium_aws.provisioners.secret import SecretsManagerSecretProvisioner
from podium_aws.provisioners.sqs import SqsProvisioner, SqsQueueProvisioner
from podium_aws.secretstore import SecretsManagerStore
from podium_aws.settings import Settings

ALL = [
    S3BucketProvisioner,
    SqsQueueProvisioner,
    SqsProvisioner,
    DynamoDbTableProvisioner,
    RdsPostgresProvisioner,
    ElastiCacheRedisProvisioner,
    SecretsManagerSecretProvisioner,
]


def make(cls: type[Provisioner], settings: Settings, clients: AwsClients) -> Any:
    return cls(settings, clients)  # type: ignore[call-arg]


def count_real(boto: Callable[[str], Any], provisioner: Provisioner) -> int:
    """How many real resources of this provisioner's kind exist in moto."""
    kind = provisioner.resource_type
    if kind == "s3":
        return len(boto("s3").list_buckets()["Buckets"])
    if kind in {"queue", "sqs"}:
        return len(boto("sqs").list_queues().get("QueueUrls", []))
    if kind == "dynamodb":
        return len(boto("dynamodb").list_tables()["TableNames"])
    if kind == "redis":
        groups = boto("elasticache").describe_replication_groups()["ReplicationGroups"]
        return sum(g["Status"] != "deleting" for g in groups)
    if kind == "postgres":
        return len(boto("rds").describe_db_instances()["DBInstances"])
    return len(boto("secretsmanager").list_secrets()["SecretList"])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.name)
def test_create_is_idempotent_read_agrees_and_delete_is_final(
    cls: type[Provisioner],
    settings: Settings,
    clients: AwsClients,
    boto: Any,
    podium_resource_context: Any,
) -> None:
    provisioner = make(cls, settings, clients)
    ctx = podium_resource_context(provisioner, name="thing")
    assert provisioner.read(ctx) is None

    first = provisioner.create(ctx)
    real = count_real(boto, provisioner)
    second = provisioner.create(ctx)
    assert second == first
    assert count_real(boto, provisioner) == real, "a second create made a second resource"
    assert provisioner.read(ctx) == first
    assert set(first) <= set(provisioner.outputs)
    for key in provisioner.secret_outputs & set(first):
        assert isinstance(first[key], Secret)
        assert first[key].reveal() not in repr(first)

    provisioner.delete(ctx)
    assert provisioner.read(ctx) is None
    provisioner.delete(ctx)  # already gone: still fine


def test_s3_bucket_is_named_tagged_private_and_has_working_keys(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = S3BucketProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, name="uploads")
    out = provisioner.create(ctx)

    bucket = out["bucket"]
    assert bucket == ctx.physical_name
    assert 3 <= len(bucket) <= 63 and bucket == bucket.lower()
    assert out["region"] == "us-east-1" and out["endpoint"] == settings.endpoint_url
    assert out["arn"] == f"arn:aws:s3:::{bucket}"
    tags = {t["Key"]: t["Value"] for t in boto("s3").get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags["podium:platform"] == "test"
    assert tags["podium:environment"] == "dev"
    assert tags["podium:workload"] == "web"
    assert tags["podium:resource-uid"] == "s3.default/web.uploads"
    assert tags["team"] == "platform"
    block = boto("s3").get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())

    # Score's conventional outputs, both spellings, all secret, and the key is real.
    assert out["aws_access_key_id"] == out["access_key_id"]
    assert out["aws_secret_key"] == out["secret_key"]
    keys = boto("iam").list_access_keys(UserName=bucket)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [out["access_key_id"].reveal()]
    import boto3

    as_user = boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=settings.endpoint_url,
        aws_access_key_id=out["access_key_id"].reveal(),
        aws_secret_access_key=out["secret_key"].reveal(),
    )
    as_user.put_object(Bucket=bucket, Key="hello.txt", Body=b"hi")
    assert boto("s3").get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hi"


def test_s3_update_turns_on_versioning_and_delete_keeps_a_full_bucket(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = S3BucketProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, name="data")
    out = provisioner.create(ctx)
    bucket = out["bucket"]
    assert "Status" not in boto("s3").get_bucket_versioning(Bucket=bucket)

    versioned = podium_resource_context(provisioner, name="data", params={"versioning": True})
    assert provisioner.update(versioned, out) == out
    assert boto("s3").get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    boto("s3").put_object(Bucket=bucket, Key="keep.txt", Body=b"x")
    with pytest.raises(ResourceError, match="still holds objects"):
        provisioner.delete(versioned)
    assert provisioner.read(versioned) is not None

    forced = podium_resource_context(
        provisioner, name="data", params={"versioning": True, "force_destroy": True}
    )
    provisioner.delete(forced)
    assert provisioner.read(forced) is None
    assert not boto("iam").list_users()["Users"], "the bucket's IAM user outlived it"


def test_s3_replaces_a_key_lost_in_a_crash_instead_of_piling_up_keys(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = S3BucketProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, name="media")
    out = provisioner.create(ctx)
    # Simulate a crash after CreateAccessKey but before the key was stored.
    boto("secretsmanager").delete_secret(
        SecretId=f"podium/test/dev/s3/{out['bucket']}", ForceDeleteWithoutRecovery=True
    )
    again = provisioner.create(ctx)
    keys = boto("iam").list_access_keys(UserName=out["bucket"])["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [again["access_key_id"].reveal()]
    assert again["access_key_id"] != out["access_key_id"]


def test_unknown_params_are_refused_by_name(
    settings: Settings, clients: AwsClients, podium_resource_context: Any
) -> None:
    provisioner = S3BucketProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, params={"versoning": True})
    with pytest.raises(ResourceError, match="versoning"):
        provisioner.create(ctx)


def test_queue_attributes_update_in_place_and_fifo_is_a_replacement(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = SqsQueueProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, name="jobs", params={"visibility_timeout": 30})
    out = provisioner.create(ctx)
    assert out["name"] == ctx.physical_name
    assert out["arn"].startswith("arn:aws:sqs:us-east-1:") and out["arn"].endswith(out["name"])
    sqs = boto("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=out["url"], AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "30"
    assert sqs.list_queue_tags(QueueUrl=out["url"])["Tags"]["podium:workload"] == "web"

    longer = podium_resource_context(provisioner, name="jobs", params={"visibility_timeout": 120})
    assert provisioner.update(longer, out) == out
    attrs = sqs.get_queue_attributes(QueueUrl=out["url"], AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "120"

    assert provisioner.requires_replace({"fifo": False}, {"fifo": True})
    assert not provisioner.requires_replace({"visibility_timeout": 1}, {"visibility_timeout": 2})
    fifo = podium_resource_context(provisioner, name="orders", params={"fifo": True})
    made = provisioner.create(fifo)
    assert made["name"].endswith(".fifo") and len(made["name"]) <= 80


def test_dynamodb_table_keys_billing_update_and_replace_rules(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = DynamoDbTableProvisioner(settings, clients)
    params = {"hash_key": "pk", "range_key": "sk", "range_key_type": "N"}
    ctx = podium_resource_context(provisioner, name="carts", params=params)
    out = provisioner.create(ctx)
    table = boto("dynamodb").describe_table(TableName=out["name"])["Table"]
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {
        ("pk", "HASH"),
        ("sk", "RANGE"),
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    tags = boto("dynamodb").list_tags_of_resource(ResourceArn=out["arn"])["Tags"]
    assert {"Key": "podium:environment", "Value": "dev"} in tags

    provisioned = podium_resource_context(
        provisioner,
        name="carts",
        params={**params, "billing_mode": "PROVISIONED", "read_capacity": 3, "write_capacity": 2},
    )
    provisioner.update(provisioned, out)
    table = boto("dynamodb").describe_table(TableName=out["name"])["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert provisioner.requires_replace(params, {**params, "hash_key": "id"})


def test_rds_postgres_outputs_password_from_generator_and_modifies_storage(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = RdsPostgresProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, name="db", params={"database": "orders"})
    out = provisioner.create(ctx)
    assert out["identifier"] == ctx.physical_name
    assert out["identifier"][0].isalpha() and "--" not in out["identifier"]
    assert out["host"].startswith(out["identifier"]) and out["port"] == 5432
    assert out["name"] == out["database"] == "orders"
    assert out["username"] == "podium"
    assert isinstance(out["password"], Secret)
    assert out["password"] == ctx.generate_secret("password")
    instance = boto("rds").describe_db_instances(DBInstanceIdentifier=out["identifier"])[
        "DBInstances"
    ][0]
    assert instance["AllocatedStorage"] == 20
    tags = {t["Key"]: t["Value"] for t in instance["TagList"]}
    assert tags["podium:resource-uid"] == "postgres.default/web.db"

    bigger = podium_resource_context(
        provisioner, name="db", params={"database": "orders", "allocated_storage": 50}
    )
    provisioner.update(bigger, out)
    instance = boto("rds").describe_db_instances(DBInstanceIdentifier=out["identifier"])[
        "DBInstances"
    ][0]
    assert instance["AllocatedStorage"] == 50
    assert provisioner.requires_replace({"database": "orders"}, {"database": "other"})
    assert not provisioner.requires_replace({"allocated_storage": 20}, {"allocated_storage": 50})


def test_rds_names_respect_the_identifier_rules_with_a_prefix(
    aws: str, clients: AwsClients, podium_resource_context: Any
) -> None:
    prefixed = Settings(region="us-east-1", endpoint_url=aws, name_prefix="acme")
    provisioner = RdsPostgresProvisioner(prefixed, AwsClients(prefixed))
    ctx = podium_resource_context(provisioner, name="a" * 80)
    name = provisioner.name_for(ctx)
    assert name.startswith("acme-") and len(name) <= 63 and "--" not in name
    assert provisioner.create(ctx)["identifier"] == name


def test_secret_resource_generates_or_resolves_the_store_key_and_keeps_operator_secrets(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = SecretsManagerSecretProvisioner(settings, clients)
    generated = podium_resource_context(provisioner, name="token", params={"length": 40})
    out = provisioner.create(generated)
    assert len(out["value"].reveal()) == 40
    assert out["arn"].startswith("arn:aws:secretsmanager:us-east-1:")

    missing = podium_resource_context(
        provisioner, name="stripe", params={"key": "stripe-key", "generate": False}
    )
    with pytest.raises(ResourceError, match="stripe-key") as failure:
        provisioner.create(missing)
    assert "podium secrets set stripe-key" in str(failure.value)

    store = SecretsManagerStore(settings, clients, "test")
    store.put("stripe-key", Secret("sk_live_123"))
    resolved = provisioner.create(missing)
    assert resolved["value"].reveal() == "sk_live_123"
    # The environment's own value wins over the platform-wide one.
    env = missing.env.environment
    store.put_in("stripe-key", Secret("sk_env_456"), env)
    assert provisioner.read(missing)["value"].reveal() == "sk_env_456"
    provisioner.delete(missing)
    assert store.get_in("stripe-key", env).reveal() == "sk_env_456"
    store.delete_in("stripe-key", env)
    assert provisioner.create(missing)["value"].reveal() == "sk_live_123"
    provisioner.delete(missing)
    assert store.get("stripe-key").reveal() == "sk_live_123", "an operator's secret was deleted"

    provisioner.delete(generated)
    assert provisioner.read(generated) is None


def test_redis_replication_group_has_tls_and_the_generated_auth_token(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = ElastiCacheRedisProvisioner(settings, clients)
    ctx = podium_resource_context(provisioner, name="cache")
    out = provisioner.create(ctx)
    group_id = provisioner.name_for(ctx)
    assert len(group_id) <= 40 and group_id[0].isalpha() and "--" not in group_id
    group = boto("elasticache").describe_replication_groups(ReplicationGroupId=group_id)[
        "ReplicationGroups"
    ][0]
    assert group["TransitEncryptionEnabled"] and group["AuthTokenEnabled"]
    assert out["host"] and out["port"] == 6379 and out["username"] == "default"
    assert out["password"] == ctx.generate_secret("password")
