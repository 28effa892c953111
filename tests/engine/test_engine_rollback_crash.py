"""A rollback is journaled like any deploy: SIGKILL of ``podium rollback`` after the
deployer acted but before the outcome was recorded leaves a pending intent, which the
next run resolves, so re-running converges instead of trusting a record that lies."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest


def _deploy_v1_then_v2(project: Any) -> None:
    project.podium("up", check=True)
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("GREETING: hello", "GREETING: v2"))
    project.podium("up", check=True)
    live = project.deployed()
    assert live is not None and live["release"] == 2
    assert live["variables"]["main"]["GREETING"] == "v2"


def _kill_rollback_after_its_deploy(project: Any) -> None:
    """Start ``podium rollback web``; SIGKILL it once the deployer has written release 3."""
    process = subprocess.Popen(
        [sys.executable, "-m", "podium", "rollback", "web"],
        cwd=project.root,
        env=project.env(FAKE_PAUSE_AFTER_DEPLOY="120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                live = project.deployed()
            except json.JSONDecodeError:  # read while the deployer writes it
                live = None
            if live is not None and live["release"] == 3:
                break
            if process.poll() is not None:
                pytest.fail(f"rollback ended before it could be killed: {process.stderr}")
            time.sleep(0.05)
        else:
            pytest.fail("the rollback never reached its deployer")
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    live = project.deployed()
    assert live is not None and live["variables"]["main"]["GREETING"] == "hello"


def test_up_after_a_killed_rollback_redeploys_what_the_files_say(project: Any) -> None:
    _deploy_v1_then_v2(project)
    _kill_rollback_after_its_deploy(project)

    # The killed rollback's deploy ran: release 1's workload runs now, whatever state said.
    plan = project.podium_json("plan")
    assert [c["uid"] for c in plan["changes"] if c["action"] != "no-op"] == ["deployment:web"]

    project.podium("up", check=True)
    live = project.deployed()
    assert live is not None and live["variables"]["main"]["GREETING"] == "v2"
    replan = project.podium_json("plan")
    assert all(c["action"] == "no-op" for c in replan["changes"])
    history = project.podium_json("history")
    assert "running" not in json.dumps(history)


def test_rerun_rollback_after_a_kill_converges(project: Any) -> None:
    _deploy_v1_then_v2(project)
    _kill_rollback_after_its_deploy(project)

    again = project.podium("rollback", "web")
    assert again.returncode == 0, again.stderr
    live = project.deployed()
    assert live is not None and live["variables"]["main"]["GREETING"] == "hello"
    releases = project.podium_json("history", "-w", "web")
    assert [r["status"] for r in releases] == ["deployed", "deployed", "deployed"]
    assert "rollback to release 1" in releases[-1]["note"]
    # Nothing left pending, and the next plan knows the files describe a newer release.
    plan = project.podium_json("plan")
    reasons = [c["reason"] for c in plan["changes"] if c["uid"] == "deployment:web"]
    assert reasons and "rolled back to release 1" in reasons[0]
