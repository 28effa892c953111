"""The engine through the ``podium`` CLI in real subprocesses: exit codes, saved plans,
lock contention, crash recovery and secrets that never leak."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest


def test_up_plan_noop_and_destroy_through_the_cli(project: Any) -> None:
    up = project.podium("up", check=True)
    assert "Apply complete: 3 changed" in up.stdout
    assert "web: http://web.test" in up.stdout
    assert "ready" in up.stdout
    plan = project.podium_json("plan")
    assert plan["counts"]["no-op"] == 3 and plan["counts"]["create"] == 0
    status = project.podium_json("status")
    assert status[0]["workload"] == "web" and status[0]["state"] == "ready"
    history = project.podium_json("history")
    assert history[0]["operation"] == "apply" and history[0]["status"] == "succeeded"
    logs = project.podium("logs", "web", check=True)
    assert "deployed web" in logs.stdout
    state = project.podium_json("state", "list")
    assert {r["uid"] for r in state} == {
        "volume.default#web.data",
        "volume.default#web.cache",
        "deployment:web",
    }
    destroyed = project.podium("destroy", "--yes", check=True)
    assert "3 changed" in destroyed.stdout
    assert project.dirs() == []


def test_saved_plan_applies_exactly_and_refuses_when_stale(project: Any) -> None:
    project.podium("plan", "--out", "plan.json", check=True)
    saved = json.loads((project.root / "plan.json").read_text())
    assert saved["counts"]["create"] == 3
    project.podium("apply", "plan.json", check=True)
    assert len(project.dirs()) == 2
    # the same saved plan again: state moved on since it was made
    again = project.podium("apply", "plan.json")
    assert again.returncode == 8, again.stderr
    assert "changed since this plan was made" in again.stderr
    assert "Traceback" not in again.stderr


def test_policy_block_exit_code(project: Any) -> None:
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("example/web:1.0", "example/web"))
    result = project.podium("up", "-e", "prod")
    assert result.returncode == 5, result.stderr
    assert "builtin.no-latest-image" in result.stdout + result.stderr
    assert project.podium_json("state", "list", "-e", "prod") == []


def test_bad_input_is_a_located_error_not_a_traceback(project: Any) -> None:
    (project.root / "web.score.yaml").write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers: [\n"
    )
    result = project.podium("plan")
    assert result.returncode == 3
    assert "web.score.yaml:" in result.stderr and "Traceback" not in result.stderr
    (project.root / "podium.toml").write_text("[platform\nname = 1\n")
    result = project.podium("plan")
    assert result.returncode == 3
    assert "podium.toml:1" in result.stderr and "Traceback" not in result.stderr


def test_failed_apply_exit_code_names_the_plugin(project: Any) -> None:
    result = project.podium("up", FAKE_FAIL="cache")
    assert result.returncode == 6, result.stderr
    assert "FAKE_FAIL" in result.stderr + result.stdout
    assert "podium-fake" in result.stderr + result.stdout


def _start_apply(project: Any, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "podium", "up"],
        cwd=project.root,
        env=project.env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_lock_contention_between_two_processes(project: Any) -> None:
    holder = _start_apply(project, FAKE_PAUSE_AFTER_CREATE="3")
    try:
        _wait_for(lambda: len(project.dirs()) >= 1)
        contender = project.podium("up")
        assert contender.returncode == 7, contender.stderr
        assert "lock" in contender.stderr.lower() and str(holder.pid) in contender.stderr
    finally:
        _, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    assert len(project.dirs()) == 2


def test_crash_between_journal_and_outcome_is_adopted(project: Any) -> None:
    victim = _start_apply(project, FAKE_PAUSE_AFTER_CREATE="30")
    _wait_for(lambda: len(project.dirs()) >= 1)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    made = project.dirs()
    assert len(made) == 1  # the side effect happened, its outcome was never recorded
    records = project.podium_json("state", "list")
    assert records == []
    # the next run reconciles: the directory is adopted, not created twice
    rerun = project.podium("up", check=True)
    assert "adopted" in rerun.stdout
    assert len(project.dirs()) == 2
    assert made[0] in project.dirs()
    uids = {r["uid"]: r["physical_name"] for r in project.podium_json("state", "list")}
    assert set(project.dirs()) == {v for k, v in uids.items() if k.startswith("volume")}
    history = project.podium_json("history")
    assert history[0]["status"] == "succeeded"


def test_secret_canary_never_leaks(project: Any, tmp_path: Path) -> None:
    canary = "canary-7f3a9c1e-very-secret"
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("GREETING: hello", "TOKEN: ${resources.data.token}"))
    env = {"FAKE_CANARY": canary, "PODIUM_TRACE_HOOKS": "1"}
    outputs: list[str] = []
    for args in (
        ("plan", "--out", "plan.json"),
        ("--json", "plan"),
        ("apply", "plan.json"),
        ("--json", "outputs"),
        ("outputs",),
        ("state", "show", "volume.default#web.data"),
        ("--json", "history"),
        ("history", "-w", "web"),
        ("--debug", "status"),
        ("plan", "--refresh", "-v"),
    ):
        result = project.podium(*args, **env)
        assert result.returncode == 0, (args, result.stderr)
        outputs += [result.stdout, result.stderr]
    # the deployer really received it, so the canary did flow through the platform
    deployed = project.deployed()
    assert deployed is not None and deployed["variables"]["main"]["TOKEN"] == canary
    for text in outputs:
        assert canary not in text
    shown = project.podium("outputs", "--show-secrets", **env)
    assert canary in shown.stdout  # only when explicitly asked
    state_dir = project.root / ".podium"
    fake_world = project.world
    for path in state_dir.rglob("*"):
        if path.is_file() and fake_world not in path.parents:
            assert canary.encode() not in path.read_bytes(), path
    assert (state_dir / "spans.jsonl").stat().st_size > 0


@pytest.mark.parametrize(
    "args", [("status", "-e", "nope"), ("logs", "ghost"), ("rollback", "ghost")]
)
def test_not_found_exit_code(project: Any, args: tuple[str, ...]) -> None:
    result = project.podium(*args)
    assert result.returncode == 9, result.stderr
    assert "Traceback" not in result.stderr
