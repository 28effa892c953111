"""The state lock under many concurrent ``podium apply`` processes on one environment."""

from __future__ import annotations

import itertools
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from torture_project import Project, check_state_is_reality

from podium.errors import ExitCode
from podium.platform.contract import LockInfo

CONTENDERS = 6


def _wait_for(predicate, what: str, process: subprocess.Popen[str] | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60  # a bound against hanging CI, not a timing assertion
    while not predicate():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: process exited early: {process.communicate()}")
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.02)


def _started(log: Path) -> bool:
    return log.exists() and " start " in log.read_text()


def _busy_holder(project: Project, gate: Path, log: Path) -> subprocess.Popen[str]:
    """An apply that holds the lock, blocked inside its first create until ``gate`` exists."""
    holder = project.podium(
        "apply", "--yes", PODIUM_TORTURE_GATE=str(gate), PODIUM_TORTURE_LOG=str(log)
    )
    _wait_for(lambda: _started(log), "the holder to start its first create", holder)
    return holder


def test_one_apply_proceeds_and_the_others_get_locked_promptly(tmp_path: Path) -> None:
    project = Project(tmp_path)
    path = project.write_workload("app", {"aa": {}, "bb": {"up": "${resources.aa.path}"}})
    gate, log = tmp_path / "gate", tmp_path / "ops.log"
    holder = _busy_holder(project, gate, log)
    contenders = [project.podium("apply", "--yes") for _ in range(CONTENDERS)]
    for contender in contenders:
        _, stderr = contender.communicate(timeout=120)
        assert contender.returncode == ExitCode.LOCKED, stderr
        assert "locked by" in stderr and f"pid {holder.pid}" in stderr, stderr
        assert "Traceback" not in stderr
    # Every contender was refused while the holder was still inside its apply.
    assert holder.poll() is None
    gate.touch()
    _, stderr = holder.communicate(timeout=120)
    assert holder.returncode == 0, stderr
    with project.platform() as platform:
        check_state_is_reality(platform, project.world, {"aa", "bb"})
        assert platform.store("dev").lock_info() is None
        assert not platform.plan("dev", [path]).has_changes


def test_a_killed_holders_lease_is_taken_over(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.write_workload("app", {"aa": {}, "bb": {"up": "${resources.aa.path}"}, "cc": {}})
    gate, log = tmp_path / "gate", tmp_path / "ops.log"
    holder = _busy_holder(project, gate, log)
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=60)
    with project.platform() as platform:
        held = platform.store("dev").lock_info()
        assert held is not None and held.pid == holder.pid  # the dead run's lease is still there
    gate.touch()
    done = project.run("apply", "--yes")
    assert done.returncode == 0, done.stderr
    with project.platform() as platform:
        check_state_is_reality(platform, project.world, {"aa", "bb", "cc"})
        assert platform.store("dev").lock_info() is None


def test_an_expired_lease_from_another_host_is_taken_over_a_live_one_is_not(
    tmp_path: Path,
) -> None:
    project = Project(tmp_path)
    project.write_workload("app", {"aa": {}})
    elsewhere = f"not-{socket.gethostname()}"

    def plant(expires_in: float) -> None:
        with project.platform() as platform:
            store = platform.store("dev")
            store.force_unlock()
            now = time.time()
            store.acquire_lock(
                LockInfo(
                    "ci@" + elsewhere,
                    elsewhere,
                    1,
                    uuid.uuid4().hex,
                    now,
                    now + expires_in,
                    "apply",
                )
            )

    plant(expires_in=600)
    refused = project.run("apply", "--yes")
    assert refused.returncode == ExitCode.LOCKED, refused.stderr
    assert elsewhere in refused.stderr
    plant(expires_in=-1)
    done = project.run("apply", "--yes")
    assert done.returncode == 0, done.stderr
    with project.platform() as platform:
        check_state_is_reality(platform, project.world, {"aa"})


def test_concurrent_applies_of_different_workloads_lose_no_update(tmp_path: Path) -> None:
    project = Project(tmp_path)
    log = tmp_path / "ops.log"
    files = [
        project.write_workload(f"w{k}", {"xx": {}, "yy": {"up": "${resources.xx.path}"}, "zz": {}})
        for k in range(CONTENDERS)
    ]

    def start(path: Path) -> subprocess.Popen[str]:
        return project.podium(
            "apply",
            "--yes",
            "-f",
            path.name,
            PODIUM_TORTURE_DELAY="0.03",
            PODIUM_TORTURE_LOG=str(log),
        )

    running = {path: start(path) for path in files}
    refusals = 0
    deadline = time.monotonic() + 300  # bound for CI only
    while running:
        assert time.monotonic() < deadline, "applies did not all get through"
        for path, process in list(running.items()):
            if process.poll() is None:
                continue
            _, stderr = process.communicate()
            # Locked (another apply runs) or stale (another apply committed between this
            # one's plan and its apply): refused either way, never applied over a newer state.
            if process.returncode in (ExitCode.LOCKED, ExitCode.STALE_PLAN):
                refusals += 1
                running[path] = start(path)  # try again, as a CI job would
                continue
            assert process.returncode == 0, stderr
            del running[path]
        time.sleep(0.02)
    # Exactly one apply at a time: the operations of different processes never interleave.
    spans: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        pid, stamp, _, _ = line.split(" ", 3)
        spans.setdefault(pid, []).append(float(stamp))
    windows = sorted((min(t), max(t)) for t in spans.values())
    for (_, end), (start_next, _) in itertools.pairwise(windows):
        assert end <= start_next, "two applies changed the environment at the same time"
    with project.platform() as platform:
        expected = {f"w{k}" for k in range(CONTENDERS)}
        records = [r for r in platform.store("dev").records() if r.kind == "resource"]
        assert {r.spec["workload"] for r in records} == expected
        assert len(records) == 3 * CONTENDERS
        check_state_is_reality(platform, project.world)
        applies = [h for h in platform.history("dev") if h.get("operation") == "apply"]
        statuses = [h.get("status") for h in applies]
        assert statuses.count("succeeded") >= CONTENDERS, statuses
    print(f"{refusals} refusals (locked or stale) before every apply got through")
