"""A deployer's state directory: private, atomic writes, and a lock across real processes."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from podium.plugin import DeployerState, EnvironmentInfo, file_lock, write_atomic


def test_the_directory_is_private_and_per_deployer_and_workload(tmp_path: Path) -> None:
    env = EnvironmentInfo("p", "dev", tmp_path / "state" / "dev")
    state = DeployerState.for_deployer(env, "procs").workload("web")
    path = state.write_json("pids.json", {"main": 42})
    assert path == tmp_path / "state/dev/deployers/procs/workloads/web/pids.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o700
    assert state.read_json("pids.json") == {"main": 42}
    assert state.read_json("absent.json", {}) == {}
    state.remove("pids.json")
    assert state.read_text("pids.json") is None
    state.remove_all()
    assert not state.path.exists()


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "", "/abs"])
def test_names_cannot_leave_the_directory(tmp_path: Path, name: str) -> None:
    state = DeployerState(tmp_path / "s")
    with pytest.raises(ValueError, match="not a plain file name"):
        state.write_text(name, "x")
    with pytest.raises(ValueError):
        state.workload(name)


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    write_atomic(target, "old")

    class Boom(str):
        def encode(self, *args: object, **kwargs: object) -> bytes:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(target, Boom("new"))
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no temporary left


LOCKER = """
import sys, time
from pathlib import Path
from podium.plugin import DeployerState
state = DeployerState(Path(sys.argv[1]))
with state.lock():
    Path(sys.argv[2]).write_text("held")
    time.sleep(float(sys.argv[3]))
"""


def test_the_lock_excludes_another_process(tmp_path: Path) -> None:
    state = DeployerState(tmp_path / "s")
    flag = tmp_path / "held"
    holder = subprocess.Popen([sys.executable, "-c", LOCKER, str(state.path), str(flag), "30"])
    try:
        while not flag.exists():
            assert holder.poll() is None, "the holder died"
        with pytest.raises(TimeoutError), state.lock(timeout=0.3):
            pass
    finally:
        holder.kill()
        holder.wait()
    with state.lock(timeout=5):  # released when its holder died
        pass
    with file_lock(tmp_path / "other.lock", timeout=1):
        pass
