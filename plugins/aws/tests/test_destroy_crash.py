"""Crash-safe destroy (issue 14): kill the real ``podium destroy`` right after each cleanup
call AWS has performed, run it again, and find nothing left behind.

The workload has an S3 bucket (IAM user, access key, key secret) and runs on ECS (service,
task definition, task and execution roles, a secret copy, log group, alarms): the objects
a destroy used to leak when it died after the bucket or the service was gone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Gate, reset_moto

from podium.plugin import Platform

CONFIG = """\
[platform]
name = "crash"
workloads = ["*.score.yaml"]

[plugins]
allow = ["aws"]

[plugins.aws]
region = "us-east-1"
endpoint_url = "{endpoint}"

[environments.dev]
deployer = "aws-ecs"

[[rules]]
type = "s3"
provisioner = "aws-s3"
"""

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: shop
containers:
  web:
    image: shop/web:1
    variables:
      BUCKET: ${resources.media.bucket}
      BUCKET_SECRET: ${resources.media.secret_key}
resources:
  media:
    type: s3
"""

#: What destroy does to AWS, as the gate sees it: IAM/CloudWatch queries (Action=Delete...),
#: JSON APIs (X-Amz-Target ...Delete..., ...Deregister..., ECS UpdateService), S3 REST
#: (DELETE, and PUT ?tagging: the bucket's "being deleted" mark).
_CLEANUP = re.compile(
    rb"Action=Delete|\.(?:Delete|Deregister)\w+\n|\.UpdateService\n|/operation/Delete"
    rb"|\nDELETE /|\nPUT /[^/?\n]+\?tagging"
)


def is_cleanup(request: bytes) -> bool:
    return _CLEANUP.search(request) is not None


def _call_name(request: bytes) -> str:
    """``DeleteUser``, ``secretsmanager.DeleteSecret``, ``DELETE /bucket``: for messages."""
    target, line, body = [*request.split(b"\n", 2), b"", b""][:3]
    action = re.search(rb"Action=(\w+)", body)
    return (target or (action.group(1) if action else line)).decode(errors="replace")


def leftovers(boto: Any) -> dict[str, list[str]]:
    """Everything the platform could have left in the (otherwise empty) moto account."""
    iam = boto("iam")
    ecs = boto("ecs")
    services: list[str] = []
    for cluster in ecs.list_clusters()["clusterArns"]:
        arns = ecs.list_services(cluster=cluster)["serviceArns"]
        if arns:
            described = ecs.describe_services(cluster=cluster, services=arns)["services"]
            services += [s["serviceName"] for s in described if s["status"] != "INACTIVE"]
    found = {
        "buckets": [b["Name"] for b in boto("s3").list_buckets()["Buckets"]],
        "iam users": [u["UserName"] for u in iam.list_users()["Users"]],
        "iam roles": [r["RoleName"] for r in iam.list_roles()["Roles"]],
        "iam policies": [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]],
        "secrets": [s["Name"] for s in boto("secretsmanager").list_secrets()["SecretList"]],
        "task definitions": ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"],
        "ecs services": services,
        "log groups": [g["logGroupName"] for g in boto("logs").describe_log_groups()["logGroups"]],
        "alarms": [a["AlarmName"] for a in boto("cloudwatch").describe_alarms()["MetricAlarms"]],
    }
    return {kind: names for kind, names in found.items() if names}


@pytest.fixture
def ecs_running(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto (in this process) reports this many running tasks for each new service.
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")


@pytest.mark.slow
def test_a_destroy_killed_after_any_cleanup_call_leaves_nothing_once_run_again(
    aws: str, boto: Any, gate: Gate, tmp_path: Path, ecs_running: None
) -> None:
    killed_after: list[str] = []
    for call in range(60):  # far more cleanup calls than destroy makes: it ends by itself
        reset_moto(aws)
        root = tmp_path / f"kill-{call}"
        root.mkdir()
        (root / "podium.toml").write_text(CONFIG.format(endpoint=aws))
        (root / "shop.score.yaml").write_text(SCORE)
        with Platform.from_file(root / "podium.toml") as platform:  # quicker than the CLI
            _, made = platform.up("dev", [root / "shop.score.yaml"])
            assert made.ok, made.to_dict()
        assert leftovers(boto), "the workload made nothing to destroy"

        held = gate.hold(when=is_cleanup, skip=call)
        victim = subprocess.Popen(
            [sys.executable, "-m", "podium", "destroy", "-e", "dev"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            while not held.reached.wait(0.2):
                if victim.poll() is not None:
                    break
            if not held.reached.is_set():
                # Every cleanup call has had its kill: this destroy ran to the end.
                out, err = victim.communicate(timeout=60)
                assert victim.returncode == 0, err + out
                assert leftovers(boto) == {}
                break
            # AWS performed the call; the CLI has not heard back. Kill it right there.
            os.kill(victim.pid, signal.SIGKILL)
            victim.communicate(timeout=30)
        finally:
            gate.clear()
        killed_after.append(_call_name(held.request))

        # The run after the crash (in process: the engine path is the CLI's, minus its start).
        where = f"killed after cleanup call {call + 1} ({killed_after[-1]})"
        with Platform.from_file(root / "podium.toml") as platform:
            _, again = platform.destroy("dev")
            assert again.ok, f"{where}: {again.to_dict()}"
            assert platform.store("dev").records() == [], where
        assert leftovers(boto) == {}, where
    else:
        pytest.fail("destroy never ran to the end")
    # The bucket's and the service's own objects were all among the kill points.
    print("killed after:", *killed_after, sep="\n  ")
    assert len(killed_after) >= 12, killed_after
