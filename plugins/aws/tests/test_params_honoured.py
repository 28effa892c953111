"""podium-aws's params are honoured in place, or plan a replace: never "updated" for nothing.

Issue 13: ElastiCache ``replicas`` 0 -> 2 planned and applied "updated" and made no call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podium.plugin import Platform
from podium_aws.clients import AwsClients
from podium_aws.provisioners.elasticache import ElastiCacheRedisProvisioner
from podium_aws.provisioners.s3 import S3BucketProvisioner
from podium_aws.provisioners.secret import SecretsManagerSecretProvisioner
from podium_aws.settings import Settings

CONFIG = """\
[platform]
name = "awsparams"
workloads = ["*.score.yaml"]

[plugins]
allow = ["aws"]

[plugins.aws]
region = "us-east-1"
endpoint_url = "{endpoint}"

[environments.prod]
deployer = "aws-ecs"

[[rules]]
type = "redis"
provisioner = "aws-elasticache-redis"
params = {{ {params} }}
"""

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: shop
containers:
  web:
    image: shop/web:1
    variables:
      REDIS_HOST: ${resources.cache.host}
resources:
  cache:
    type: redis
"""

CACHE = "redis.default#shop.cache"


def group(boto: Any) -> dict[str, Any]:
    [found] = [
        g
        for g in boto("elasticache").describe_replication_groups()["ReplicationGroups"]
        if g["Status"] != "deleting"
    ]
    return dict(found)


def test_a_replica_count_change_plans_a_replace_not_an_empty_update(
    aws: str, boto: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    (tmp_path / "shop.score.yaml").write_text(SCORE)
    config = tmp_path / "podium.toml"
    config.write_text(CONFIG.format(endpoint=aws, params="replicas = 0"))
    with Platform.from_file(config) as platform:
        assert platform.apply(platform.plan("prod", [tmp_path / "shop.score.yaml"])).ok
    assert len(group(boto)["MemberClusters"]) == 1

    config.write_text(CONFIG.format(endpoint=aws, params="replicas = 2"))
    with Platform.from_file(config) as platform:
        plan = platform.plan("prod", [tmp_path / "shop.score.yaml"])
    [change] = [c for c in plan.changes if c.uid == CACHE]
    assert change.action == "replace", (change.action, change.reason)
    assert "replicas" in change.reason
    assert len(group(boto)["MemberClusters"]) == 1  # planning changed nothing


def test_a_node_type_change_is_made_in_place(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    provisioner = ElastiCacheRedisProvisioner(settings, clients)
    before = podium_resource_context(provisioner, name="cache")
    provisioner.create(before)
    assert group(boto)["CacheNodeType"] == "cache.t4g.micro"
    after = podium_resource_context(
        provisioner, name="cache", params={"node_type": "cache.t4g.small"}
    )
    assert not provisioner.requires_replace(before.params, after.params)
    provisioner.update(after, provisioner.read(before))
    assert group(boto)["CacheNodeType"] == "cache.t4g.small"  # AWS was really asked


def test_replicas_force_a_replacement(settings: Settings, clients: AwsClients) -> None:
    """moto cannot change a group's replica count in place (IncreaseReplicaCount), nor
    report NumCacheClusters back: the change is declared a replacement instead."""
    provisioner = ElastiCacheRedisProvisioner(settings, clients)
    assert provisioner.requires_replace({"replicas": 0}, {"replicas": 2})
    assert provisioner.requires_replace({}, {"replicas": 1})
    assert not provisioner.requires_replace({"replicas": 1}, {"replicas": 1})


def test_turning_access_keys_off_revokes_the_key_given_out(
    settings: Settings, clients: AwsClients, boto: Any, podium_resource_context: Any
) -> None:
    """Before: the outputs lost the key, but the IAM user and its key stayed usable."""
    provisioner = S3BucketProvisioner(settings, clients)
    before = podium_resource_context(provisioner, name="media")
    first = provisioner.create(before)
    assert first["access_key_id"]
    user = provisioner.name_for(before)
    assert user in [u["UserName"] for u in boto("iam").list_users()["Users"]]

    after = podium_resource_context(provisioner, name="media", params={"access_keys": False})
    assert not provisioner.requires_replace(before.params, after.params)
    outputs = provisioner.update(after, first)
    assert "access_key_id" not in outputs
    assert user not in [u["UserName"] for u in boto("iam").list_users()["Users"]]
    assert provisioner.read(after) == outputs  # the bucket itself stays


def test_a_generated_secrets_new_length_is_a_replacement(
    settings: Settings, clients: AwsClients
) -> None:
    provisioner = SecretsManagerSecretProvisioner(settings, clients)
    assert provisioner.requires_replace({"length": 32}, {"length": 64})
    assert not provisioner.requires_replace({"generate": True}, {"generate": False})
