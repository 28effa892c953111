"""``rollback_on_failure``: a failed deploy brings the last good release back, journaled,
and the apply still fails (exit 6) with the deploy's real cause and the rollback reported."""

from __future__ import annotations

import json
from typing import Any

from podium.errors import ExitCode


def _enable_rollback(project: Any) -> None:
    config = (project.root / "podium.toml").read_text()
    config = config.replace(
        '[environments.dev]\ndeployer = "fake-deployer"\n',
        '[environments.dev]\ndeployer = "fake-deployer"\nrollback_on_failure = true\n',
    )
    (project.root / "podium.toml").write_text(config)


def test_failed_deploy_is_rolled_back_and_reported(project: Any) -> None:
    _enable_rollback(project)
    project.podium("up", check=True)
    first = project.deployed()
    assert first is not None and first["release"] == 1

    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("GREETING: hello", "GREETING: v2"))
    failed = project.podium("up", FAKE_DEPLOY_FAIL_RELEASE="2")

    assert failed.returncode == ExitCode.APPLY_FAILED, failed.stderr
    assert "release 2 cannot start (FAKE_DEPLOY_FAIL_RELEASE)" in failed.stderr
    assert "rolled back to release 1" in failed.stderr
    assert "ValidationError" not in failed.stderr + failed.stdout
    live = project.deployed()
    assert live is not None
    assert live["release"] == 3  # release 3 redeploys release 1's workload
    assert live["variables"]["main"]["GREETING"] == "hello"

    releases = project.podium_json("history", "-w", "web")
    by_number = {r["number"]: r for r in releases}
    assert by_number[2]["status"] == "failed"
    assert by_number[3]["status"] == "deployed"
    assert "rollback to release 1" in by_number[3]["note"]

    # The rollback went through the journal: nothing is left pending, and the
    # status reads the rolled-back release as ready.
    status = project.podium_json("status")
    assert [w["state"] for w in status] == ["ready"]
    assert project.podium("plan", check=True).returncode == 0

    # The files still ask for v2: the next up deploys it.
    project.podium("up", check=True)
    live = project.deployed()
    assert live is not None and live["variables"]["main"]["GREETING"] == "v2"


def test_failed_rollback_keeps_the_real_cause(project: Any) -> None:
    _enable_rollback(project)
    project.podium("up", check=True)
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("GREETING: hello", "GREETING: v2"))
    failed = project.podium("up", FAKE_DEPLOY_FAIL="web")

    assert failed.returncode == ExitCode.APPLY_FAILED, failed.stderr
    assert "deploy of web failed (FAKE_DEPLOY_FAIL)" in failed.stderr
    assert "automatic rollback to release 1 failed" in failed.stderr
    history = project.podium_json("history")
    assert history[0]["status"] == "failed"
    assert json.dumps(history[0]).count("running") == 0
