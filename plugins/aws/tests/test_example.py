"""examples/aws-prod: `dev` plans onto podium-local, `prod` really applies to AWS (moto)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def example(tmp_path: Path, aws: str, boto: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    root = tmp_path / "aws-prod"
    root.mkdir()
    shutil.copytree(EXAMPLES / "shop", tmp_path / "shop")
    config = (EXAMPLES / "aws-prod" / "podium.toml").read_text()
    # The only changes: talk to the moto server, in a VPC that exists there.
    config = config.replace(
        'region = "eu-west-1"\n', f'region = "eu-west-1"\nendpoint_url = "{aws}"\n', 1
    )
    ec2 = boto("ec2", "eu-west-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24")["Subnet"]["SubnetId"]
        for n in (1, 2)
    ]
    group = ec2.create_security_group(GroupName="shop", Description="shop", VpcId=vpc)["GroupId"]
    config = config.replace("subnet-0a1b2c3d4e5f60718", subnets[0])
    config = config.replace("subnet-0f1e2d3c4b5a69788", subnets[1])
    config = config.replace("sg-0123456789abcdef0", group)
    (root / "podium.toml").write_text(config)
    return root


def podium(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_only_podium_toml_differs_from_the_shop_example() -> None:
    config = (EXAMPLES / "aws-prod" / "podium.toml").read_text()
    assert '"../shop/web.score.yaml"' in config and '"../shop/worker.score.yaml"' in config
    assert not list((EXAMPLES / "aws-prod").glob("*.score.yaml"))


def test_dev_goes_to_podium_local_and_prod_to_podium_aws(example: Path, boto: Any) -> None:
    dev = podium(example, "--json", "plan", "-e", "dev")
    assert dev.returncode in (0, 2), dev.stderr
    dev_plan = json.loads(dev.stdout)
    dev_providers = {c["uid"]: c["provider"] for c in dev_plan["changes"]}
    assert dev_providers["postgres.default#shop-db"] == "local-postgres"
    assert dev_providers["deployment:shop-web"] == "local"

    up = podium(example, "up", "-e", "prod")
    assert up.returncode == 0, up.stderr + up.stdout
    (db,) = boto("rds", "eu-west-1").describe_db_instances()["DBInstances"]
    assert db["DBInstanceIdentifier"].startswith("acme-shop-prod-") and db["MultiAZ"]
    groups = boto("elasticache", "eu-west-1").describe_replication_groups()["ReplicationGroups"]
    assert [g["ReplicationGroupId"][:5] for g in groups] == ["acme-"]
    status = json.loads(podium(example, "--json", "status", "-e", "prod").stdout)
    assert sorted((s["workload"], s["state"]) for s in status) == [
        ("shop-web", "ready"),
        ("shop-worker", "ready"),
    ]
