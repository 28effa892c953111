"""The core's conformance kits, run against every podium-aws registration on moto."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from podium.testing.conformance import (
    DeployerConformance,
    ProvisionerConformance,
    SecretStoreConformance,
    StateBackendConformance,
)
from podium_aws.clients import AwsClients
from podium_aws.deploy.ecs import EcsDeployer
from podium_aws.provisioners.dynamodb import DynamoDbTableProvisioner
from podium_aws.provisioners.elasticache import ElastiCacheRedisProvisioner
from podium_aws.provisioners.rds import RdsPostgresProvisioner
from podium_aws.provisioners.s3 import S3BucketProvisioner
from podium_aws.provisioners.secret import SecretsManagerSecretProvisioner
from podium_aws.provisioners.sqs import SqsProvisioner, SqsQueueProvisioner
from podium_aws.secretstore import SecretsManagerStore
from podium_aws.settings import Settings
from podium_aws.state import S3StateBackend


class _AwsProvisioner(ProvisionerConformance):
    cls: Any

    @pytest.fixture
    def provisioner(self, settings: Settings, clients: AwsClients) -> Any:
        return self.cls(settings, clients)

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any]:
        def provoke(provisioner: Any, make_context: Callable[..., Any]) -> None:
            provisioner.create(make_context("bad", params={"no-such-param": 1}))

        return provoke


class TestS3(_AwsProvisioner):
    cls = S3BucketProvisioner

    @pytest.fixture
    def param_updates(self, boto: Any) -> dict[str, Any]:
        def versioning(ctx: Any) -> Any:
            return boto("s3").get_bucket_versioning(Bucket=ctx.physical_name).get("Status")

        def has_user(ctx: Any) -> bool:
            users = boto("iam").list_users()["Users"]
            return any(u["UserName"] == ctx.physical_name for u in users)

        return {"versioning": (False, True, versioning), "access_keys": (True, False, has_user)}

    @pytest.fixture
    def count_resources(self, boto: Any) -> Callable[[Any], int]:
        return lambda ctx: sum(
            b["Name"] == ctx.physical_name for b in boto("s3").list_buckets()["Buckets"]
        )


class TestQueue(_AwsProvisioner):
    cls = SqsQueueProvisioner

    @pytest.fixture
    def count_resources(self, boto: Any) -> Callable[[Any], int]:
        return lambda ctx: len(
            boto("sqs").list_queues(QueueNamePrefix=ctx.physical_name).get("QueueUrls", [])
        )

    @pytest.fixture
    def param_updates(self, boto: Any, provisioner: Any) -> dict[str, Any]:
        def attribute(name: str) -> Callable[[Any], Any]:
            def observe(ctx: Any) -> Any:
                sqs = boto("sqs")
                url = sqs.get_queue_url(QueueName=provisioner.name_for(ctx))["QueueUrl"]
                return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][
                    name
                ]

            return observe

        return {
            "visibility_timeout": (30, 60, attribute("VisibilityTimeout")),
            "delay_seconds": (0, 5, attribute("DelaySeconds")),
        }


class TestSqs(TestQueue):
    cls = SqsProvisioner


class TestDynamoDb(_AwsProvisioner):
    cls = DynamoDbTableProvisioner

    @pytest.fixture
    def count_resources(self, boto: Any) -> Callable[[Any], int]:
        return lambda ctx: boto("dynamodb").list_tables()["TableNames"].count(ctx.physical_name)

    @pytest.fixture
    def param_updates(self, boto: Any) -> dict[str, Any]:
        def billing(ctx: Any) -> Any:
            table = boto("dynamodb").describe_table(TableName=ctx.physical_name)["Table"]
            return table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")

        return {"billing_mode": ("PAY_PER_REQUEST", "PROVISIONED", billing)}


class TestRdsPostgres(_AwsProvisioner):
    cls = RdsPostgresProvisioner

    @pytest.fixture
    def count_resources(self, boto: Any) -> Callable[[Any], int]:
        return lambda ctx: sum(
            i["DBInstanceIdentifier"] == ctx.physical_name
            for i in boto("rds").describe_db_instances()["DBInstances"]
        )

    @pytest.fixture
    def param_updates(self, boto: Any) -> dict[str, Any]:
        def instance(key: str) -> Callable[[Any], Any]:
            def observe(ctx: Any) -> Any:
                found = boto("rds").describe_db_instances(DBInstanceIdentifier=ctx.physical_name)
                return found["DBInstances"][0][key]

            return observe

        return {
            "instance_class": ("db.t3.micro", "db.t3.small", instance("DBInstanceClass")),
            "allocated_storage": (20, 30, instance("AllocatedStorage")),
            "backup_retention_days": (7, 3, instance("BackupRetentionPeriod")),
        }


class TestElastiCacheRedis(_AwsProvisioner):
    cls = ElastiCacheRedisProvisioner

    @pytest.fixture
    def count_resources(self, boto: Any, provisioner: Any) -> Callable[[Any], int]:
        return lambda ctx: sum(
            g["ReplicationGroupId"] == provisioner.name_for(ctx) and g["Status"] != "deleting"
            for g in boto("elasticache").describe_replication_groups()["ReplicationGroups"]
        )

    @pytest.fixture
    def param_updates(self, boto: Any, provisioner: Any) -> dict[str, Any]:
        def node_type(ctx: Any) -> Any:
            groups = boto("elasticache").describe_replication_groups(
                ReplicationGroupId=provisioner.name_for(ctx)
            )
            return groups["ReplicationGroups"][0]["CacheNodeType"]

        return {"node_type": ("cache.t4g.micro", "cache.t4g.small", node_type)}


class TestSecretResource(_AwsProvisioner):
    cls = SecretsManagerSecretProvisioner


class TestEcsDeployer(DeployerConformance):
    @pytest.fixture
    def deployer(self, settings: Settings, clients: AwsClients) -> EcsDeployer:
        return EcsDeployer(settings, clients)


class TestSecretsManagerStore(SecretStoreConformance):
    @pytest.fixture
    def secret_store(self, settings: Settings, clients: AwsClients) -> SecretsManagerStore:
        return SecretsManagerStore(settings, clients, "test")


class TestS3StateBackend(StateBackendConformance):
    @pytest.fixture
    def state_backend(self, settings: Settings, clients: AwsClients) -> S3StateBackend:
        return S3StateBackend(settings, clients)

    @pytest.fixture
    def state_options(self) -> dict[str, Any]:
        return {"bucket": "conformance-state", "create_bucket": True}
