"""podium-aws through the whole platform: Python API and the real CLI, state in S3, on moto.

One workload uses s3 + postgres (RDS) + secret + queue and runs on ECS.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import EnvironmentInfo, Platform

STATE_BUCKET = "awstest-team-state"

CONFIG = """\
[platform]
name = "awstest"
workloads = ["*.score.yaml"]

[plugins]
allow = ["aws"]

[plugins.aws]
region = "us-east-1"
endpoint_url = "{endpoint}"
tags = {{ cost-centre = "shop" }}
log_retention_days = 7

[environments.prod]
deployer = "aws-ecs"

[[rules]]
type = "s3"
provisioner = "aws-s3"

[[rules]]
type = "postgres"
provisioner = "aws-rds-postgres"
params = {{ instance_class = "db.t3.small" }}

[[rules]]
type = "secret"
provisioner = "aws-secret"

[[rules]]
type = "queue"
provisioner = "aws-queue"

[state]
backend = "s3"
options = {{ bucket = "{bucket}", create_bucket = true }}

[secrets]
store = "aws-secretsmanager"
"""

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: shop
  annotations:
    podium.aws/desired-count: "1"
containers:
  web:
    image: shop/web:1
    variables:
      GREETING: hello
      BUCKET: ${resources.media.bucket}
      DB_HOST: ${resources.db.host}
      DB_PASSWORD: ${resources.db.password}
      API_TOKEN: ${resources.token.value}
      QUEUE_URL: ${resources.jobs.url}
service:
  ports:
    http:
      port: 80
      targetPort: 8080
resources:
  media:
    type: s3
  db:
    type: postgres
  token:
    type: secret
  jobs:
    type: queue
    params:
      visibility_timeout: 30
"""


class Project:
    def __init__(self, root: Path, endpoint: str) -> None:
        self.root = root
        root.mkdir(parents=True)
        (root / "podium.toml").write_text(CONFIG.format(endpoint=endpoint, bucket=STATE_BUCKET))
        (root / "shop.score.yaml").write_text(SCORE)
        self.info = EnvironmentInfo(platform="awstest", environment="prod", state_dir=root)

    @property
    def score(self) -> Path:
        return self.root / "shop.score.yaml"

    def edit(self, old: str, new: str) -> None:
        self.score.write_text(self.score.read_text().replace(old, new))

    def physical(self, uid: str) -> str:
        return self.info.physical_name(uid)

    def platform(self) -> Platform:
        return Platform.from_file(self.root / "podium.toml")

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def podium(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=180,
        )


@pytest.fixture
def project(aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    # moto (in this process) reports this many running tasks for each new service.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    yield Project(tmp_path / "platform", aws)


def actions(plan: Any) -> dict[str, str]:
    return {c.uid: c.action for c in plan.changes}


def buckets(boto: Any) -> list[str]:
    return sorted(
        b["Name"] for b in boto("s3").list_buckets()["Buckets"] if b["Name"] != STATE_BUCKET
    )


def instances(boto: Any) -> list[str]:
    return [i["DBInstanceIdentifier"] for i in boto("rds").describe_db_instances()["DBInstances"]]


def test_plan_apply_noop_update_rollback_destroy_through_the_api(
    project: Project, boto: Any
) -> None:
    with project.platform() as platform:
        plan = platform.plan("prod", [project.score])
        assert actions(plan) == {
            "s3.default#shop.media": "create",
            "postgres.default#shop.db": "create",
            "secret.default#shop.token": "create",
            "queue.default#shop.jobs": "create",
            "deployment:shop": "create",
            "observability:shop": "create",
        }
        result = platform.apply(plan)
        assert result.ok, result.to_dict()
        assert buckets(boto) == [project.physical("s3.default#shop.media")]
        assert instances(boto) == [project.physical("postgres.default#shop.db")]
        db = boto("rds").describe_db_instances()["DBInstances"][0]
        assert db["DBInstanceClass"] == "db.t3.small"  # the rule's params reached RDS

        # The task definition carries the secrets only as Secrets Manager references.
        outputs = platform.outputs("prod", show_secrets=True)
        password = outputs["postgres.default#shop.db"]["password"]
        token = outputs["secret.default#shop.token"]["value"]
        deployed = outputs["deployment:shop"]
        ecs = boto("ecs")
        first_td = ecs.describe_task_definition(taskDefinition=deployed["task_definition_arn"])
        text = json.dumps(first_td, default=str)
        assert password not in text and token not in text
        env = {
            e["name"]: e["value"]
            for e in first_td["taskDefinition"]["containerDefinitions"][0]["environment"]
        }
        assert env["BUCKET"] == project.physical("s3.default#shop.media")
        assert env["QUEUE_URL"].endswith(project.physical("queue.default#shop.jobs"))
        secrets = first_td["taskDefinition"]["containerDefinitions"][0]["secrets"]
        assert {s["name"] for s in secrets} == {"DB_PASSWORD", "API_TOKEN"}
        assert [s.state for s in platform.status("prod")] == ["ready"]
        redacted = json.dumps(platform.outputs("prod"), default=str)
        assert password not in redacted and token not in redacted

        # The state lives in the team's bucket, with secrets sealed.
        state = boto("s3").get_object(Bucket=STATE_BUCKET, Key="podium/awstest/prod/state.json")
        raw = state["Body"].read().decode()
        assert "s3.default#shop.media" in raw and password not in raw and token not in raw

        again = platform.plan("prod", [project.score])
        assert not again.has_changes, actions(again)

        project.edit("GREETING: hello", "GREETING: bonjour")
        update = platform.plan("prod", [project.score])
        assert actions(update)["deployment:shop"] == "update"
        assert actions(update)["postgres.default#shop.db"] == "no-op"
        assert platform.apply(update).ok
        second = platform.outputs("prod")["deployment:shop"]["task_definition_arn"]
        assert second != deployed["task_definition_arn"]

        back = platform.rollback("prod", "shop")
        assert back["rolled_back_to"] == 1
        service = ecs.describe_services(cluster="podium", services=[deployed["service_name"]])
        assert service["services"][0]["taskDefinition"] == deployed["task_definition_arn"]

        _, destroyed = platform.destroy("prod", allow_data_loss=True)  # prod is protected
        assert destroyed.ok, destroyed.to_dict()
        assert buckets(boto) == [] and instances(boto) == []
        assert boto("sqs").list_queues().get("QueueUrls", []) == []
        assert boto("iam").list_roles()["Roles"] == []
        assert platform.store("prod").records() == []


def test_crash_between_journal_and_outcome_is_adopted_without_duplicates(
    project: Project, boto: Any, gate: Any
) -> None:
    bucket = project.physical("s3.default#shop.media")
    instance = project.physical("postgres.default#shop.db")
    held = [gate.hold(f"PUT /{bucket}?\n".encode()), gate.hold(b"Action=CreateDBInstance")]
    victim = project.start("up", "-e", "prod")
    try:
        for hold in held:
            assert hold.reached.wait(120), "the apply never reached the held create"
        # AWS has created both; the client has not heard back. Kill it right there.
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        gate.clear()
    assert buckets(boto) == [bucket] and instances(boto) == [instance]

    rerun = project.podium("up", "-e", "prod")
    assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    assert buckets(boto) == [bucket], "the bucket was created twice"
    assert instances(boto) == [instance], "the DB instance was created twice"
    assert len(boto("iam").list_users()["Users"]) == 1
    listed = json.loads(project.podium("--json", "state", "list").stdout)
    physical = {r["uid"]: r.get("physical_name") for r in listed}
    assert physical["s3.default#shop.media"] == bucket
    assert physical["postgres.default#shop.db"] == instance
    with project.platform() as platform:
        assert not platform.plan("prod", [project.score]).has_changes


def test_two_concurrent_applies_with_state_in_s3_one_is_refused(
    project: Project, boto: Any, gate: Any
) -> None:
    held = gate.hold(b"Action=CreateDBInstance")
    holder = project.start("up", "-e", "prod")
    try:
        assert held.reached.wait(120), "the first apply never got going"
        contender = project.podium("up", "-e", "prod")
        assert contender.returncode == 7, contender.stderr
        assert "locked" in contender.stderr.lower() and str(holder.pid) in contender.stderr
        assert "Traceback" not in contender.stderr
    finally:
        held.release()
    out, err = holder.communicate(timeout=180)
    assert holder.returncode == 0, err + out
    assert instances(boto) == [project.physical("postgres.default#shop.db")]
    assert project.podium("plan", "-e", "prod", "--detailed-exitcode").returncode in (0, 2)


def test_cli_status_outputs_and_secrets_use_aws(project: Project) -> None:
    up = project.podium("up", "-e", "prod")
    assert up.returncode == 0, up.stderr
    status = json.loads(project.podium("--json", "status", "-e", "prod").stdout)
    assert status[0]["state"] == "ready"
    set_result = subprocess.run(
        [sys.executable, "-m", "podium", "secrets", "set", "stripe-key"],
        cwd=project.root,
        input="sk_live_canary\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert set_result.returncode == 0, set_result.stderr
    listed = project.podium("secrets", "list")
    assert "stripe-key" in listed.stdout and "sk_live_canary" not in listed.stdout
    outputs = project.podium("outputs", "-e", "prod")
    assert outputs.returncode == 0 and "(sensitive)" in outputs.stdout


def test_a_forgotten_bucket_and_instance_are_adopted_not_duplicated(
    project: Project, boto: Any
) -> None:
    with project.platform() as platform:
        assert platform.apply(platform.plan("prod", [project.score])).ok
        before = platform.outputs("prod", show_secrets=True)
        for uid in ("s3.default#shop.media", "postgres.default#shop.db"):
            platform.forget("prod", uid)
        # State no longer knows them; the provisioners still find them by name.
        plan = platform.plan("prod", [project.score])
        assert actions(plan)["s3.default#shop.media"] == "create"
        assert actions(plan)["postgres.default#shop.db"] == "create"
        assert platform.apply(plan).ok
        after = platform.outputs("prod", show_secrets=True)
    assert buckets(boto) == [project.physical("s3.default#shop.media")]
    assert instances(boto) == [project.physical("postgres.default#shop.db")]
    assert after["s3.default#shop.media"]["bucket"] == before["s3.default#shop.media"]["bucket"]
    assert after["postgres.default#shop.db"]["host"] == before["postgres.default#shop.db"]["host"]
    # Forgetting dropped the generated password too; the adopted instance now has the new one.
    db = boto("rds").describe_db_instances()["DBInstances"][0]
    tags = {t["Key"]: t["Value"] for t in db["TagList"]}
    import hashlib

    password = after["postgres.default#shop.db"]["password"]
    digest = hashlib.sha256(b"podium-rds:" + password.encode()).hexdigest()[:16]
    assert tags["podium:password-fingerprint"] == digest
