"""A run that lost its lease stops: its writes are refused (fencing), it starts and retries
nothing more, and it names what may have taken effect. Real ``podium`` processes, paused
with SIGSTOP past their lease, and a lock removed under a live run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from torture_project import CONFIG, Project, check_state_is_reality

from podium.errors import ExitCode

TTL = 2.0
FENCING_CONFIG = (
    CONFIG.replace("retries = 0", "retries = 3\nretry_backoff = 0.05")
    + f"\n[state]\nlock_ttl = {TTL}\n"
)


def _wait_for(predicate, what: str, process: subprocess.Popen[str] | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 120  # a bound against hanging CI, not a timing assertion
    while not predicate():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: process exited early: {process.communicate()}")
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def _started(log: Path, pid: int, resource: str) -> bool:
    return (
        log.exists()
        and f"{pid} " in log.read_text()
        and any(
            line.startswith(f"{pid} ") and " start " in line and line.endswith(f".{resource}")
            for line in log.read_text().splitlines()
        )
    )


def _lease_expired(project: Project) -> bool:
    with project.platform() as platform:
        held = platform.store("dev").lock_info()
    return held is not None and held.expires_at < time.time()


def _dirs(project: Project, resource: str) -> list[str]:
    named = re.compile(rf"-app-{resource}-[0-9a-f]{{8}}--")
    return sorted(p.name for p in project.world.iterdir() if named.search(p.name))


@pytest.mark.parametrize("flaky", [False, True], ids=["in-flight-call", "retry"])
def test_a_run_paused_past_its_lease_writes_and_recreates_nothing_after_a_destroy(
    tmp_path: Path, flaky: bool
) -> None:
    project = Project(tmp_path, FENCING_CONFIG)
    project.write_workload("app", {"aa": {}})
    assert project.run("apply", "--yes").returncode == 0
    project.write_workload(
        "app",
        {"aa": {}, "bb": {"up": "${resources.aa.path}"}, "dd": {"up": "${resources.bb.path}"}},
    )
    gate, log = tmp_path / "gate", tmp_path / "ops.log"
    extra = {"PODIUM_TORTURE_GATE": str(gate), "PODIUM_TORTURE_LOG": str(log)}
    if flaky:  # the call in flight fails transiently: the engine would retry it
        extra["PODIUM_TORTURE_FLAKY"] = str(tmp_path / "flaky")
    victim = project.podium("apply", "--yes", **extra)
    _wait_for(lambda: _started(log, victim.pid, "bb"), "the victim to start creating bb", victim)
    os.kill(victim.pid, signal.SIGSTOP)  # paused inside create(bb), its lease renewal too
    try:
        _wait_for(lambda: _lease_expired(project), "the paused run's lease to expire")
        destroyed = project.run("destroy", "--yes")
        assert destroyed.returncode == 0, destroyed.stderr
        assert project.world.exists() and not list(project.world.iterdir())
    finally:
        gate.touch()
        os.kill(victim.pid, signal.SIGCONT)
    _, stderr = victim.communicate(timeout=120)

    assert victim.returncode == ExitCode.LOCKED, stderr
    assert "lost its lease" in stderr and "Traceback" not in stderr
    with project.platform() as platform:
        store = platform.store("dev")
        # Nothing the paused run did after the destroy reached the state...
        assert store.records() == [], [r.uid for r in store.records()]
        assert store.pending_intents() == []
        assert store.lock_info() is None
    # ... and it started nothing more: dd never ran, and bb was not created again.
    assert not _started(log, victim.pid, "dd")
    assert _dirs(project, "dd") == []
    if flaky:
        assert _dirs(project, "bb") == [], "the lost run retried its create"
        assert "create resource:dir.default#app.bb" in stderr or "app.bb" in stderr
    else:
        # The call that was in flight finished: the run names it as possibly done.
        assert len(_dirs(project, "bb")) == 1
        assert "may have taken effect" in stderr and "app.bb" in stderr


def test_a_removed_lock_does_not_let_a_second_run_share_the_environment(tmp_path: Path) -> None:
    project = Project(tmp_path, FENCING_CONFIG)
    path = project.write_workload("app", {"aa": {}, "bb": {"up": "${resources.aa.path}"}})
    gate, log = tmp_path / "gate", tmp_path / "ops.log"
    victim = project.podium(
        "apply", "--yes", PODIUM_TORTURE_GATE=str(gate), PODIUM_TORTURE_LOG=str(log)
    )
    _wait_for(lambda: _started(log, victim.pid, "aa"), "the victim to start creating aa", victim)
    unlocked = project.run("state", "unlock")  # "it is stuck": the lock is removed by hand
    assert unlocked.returncode == 0 and "removed the lock" in unlocked.stdout, unlocked.stderr
    second = project.run("apply", "--yes", PODIUM_TORTURE_LOG=str(log))
    assert second.returncode == 0, second.stderr
    gate.touch()  # the first run's create goes on, and finds the second run's aa
    _, stderr = victim.communicate(timeout=120)

    assert victim.returncode == ExitCode.LOCKED, stderr
    assert "lost its lease" in stderr and "Traceback" not in stderr
    assert not _started(log, victim.pid, "bb"), "the first run went on after losing its lease"
    with project.platform() as platform:
        check_state_is_reality(platform, project.world, {"aa", "bb"})
        history = platform.history("dev")
        latest = next(h for h in history if h.get("operation") == "apply")
        assert latest["status"] == "succeeded"  # the second run's
        assert not platform.plan("dev", [path]).has_changes
