"""Fencing with the state in S3, through the real CLI against moto: a run paused past its
lease while RDS creates its database must not re-create it, nor record anything, after
another run destroyed the environment; a deleted ``lock.json`` must not let a second run
go on beside the first.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from test_e2e import STATE_BUCKET, Project, instances

TTL = 2.0
LOCK_KEY = "podium/awstest/prod/lock.json"


@pytest.fixture
def project(aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """test_e2e's platform, with a lease that expires soon after its holder pauses."""
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    made = Project(tmp_path / "platform", aws)
    config = made.root / "podium.toml"
    config.write_text(config.read_text().replace("[state]\n", f"[state]\nlock_ttl = {TTL}\n", 1))
    return made


def _lease(boto: Any) -> dict[str, Any] | None:
    try:
        got = boto("s3").get_object(Bucket=STATE_BUCKET, Key=LOCK_KEY)
    except boto("s3").exceptions.NoSuchKey:
        return None
    data: dict[str, Any] = json.loads(got["Body"].read())
    return data


def _wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 120  # a bound against hanging CI, not a timing assertion
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)


def _records(project: Project) -> list[str]:
    listed = project.podium("--json", "state", "list", "-e", "prod")
    assert listed.returncode == 0, listed.stderr
    return sorted(r["uid"] for r in json.loads(listed.stdout))


def test_a_paused_run_does_not_recreate_rds_after_a_destroy(
    project: Project, boto: Any, gate: Any
) -> None:
    held = gate.hold(b"Action=CreateDBInstance")
    victim = project.start("up", "-e", "prod")
    try:
        assert held.reached.wait(120), "the apply never reached CreateDBInstance"
        # RDS has the instance; the run has not heard back. Pause it (renewals too).
        os.kill(victim.pid, signal.SIGSTOP)
        _wait_for(
            lambda: (lease := _lease(boto)) is not None and lease["expires_at"] < time.time(),
            "the paused run's lease to expire",
        )
        destroyed = project.podium("destroy", "-e", "prod", "--yes", "--allow-data-loss")
        assert destroyed.returncode == 0, destroyed.stderr + destroyed.stdout
        # (Not the bucket: the paused run may have had its create on the wire, which
        # moto can finish after the destroy; the run names it when it resumes.)
        assert instances(boto) == [], destroyed.stdout
    finally:
        held.release()
        os.kill(victim.pid, signal.SIGCONT)
    out, err = victim.communicate(timeout=180)

    assert victim.returncode == 7, err + out
    assert "lost its lease" in err and "Traceback" not in err
    assert "postgres.default#shop.db" in err  # named as possibly done
    # The database it was creating vanished (destroyed): it is not created again...
    assert instances(boto) == [], "the paused run re-created the RDS instance"
    # ... and nothing the paused run did reached the state.
    assert _records(project) == []
    clusters = boto("ecs").list_clusters()["clusterArns"]
    assert all(not boto("ecs").list_services(cluster=c)["serviceArns"] for c in clusters)


def test_a_deleted_lock_json_does_not_let_the_first_run_go_on(
    project: Project, boto: Any, gate: Any
) -> None:
    held = gate.hold(b"Action=CreateDBInstance")
    first = project.start("up", "-e", "prod")
    try:
        assert held.reached.wait(120), "the first apply never reached CreateDBInstance"
        boto("s3").delete_object(Bucket=STATE_BUCKET, Key=LOCK_KEY)  # "it is stuck"
        second = project.podium("up", "-e", "prod")
        assert second.returncode == 0, second.stderr + second.stdout
    finally:
        held.release()
    out, err = first.communicate(timeout=180)

    assert first.returncode == 7, err + out
    assert "lost its lease" in err and "Traceback" not in err
    assert instances(boto) == [project.physical("postgres.default#shop.db")]
    # The state is the second run's alone, and it matches what exists.
    assert _lease(boto) is None
    with project.platform() as platform:
        assert not platform.plan("prod", [project.score]).has_changes
