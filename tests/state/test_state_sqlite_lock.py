"""The lease lock: contention between processes, expiry, dead holders, renewal, force unlock."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podium.errors import ExitCode, LockedError, StateError
from podium.platform.contract import LockInfo
from podium.state import SqliteStateStore
from podium.state.lease import lease_identity

HERE = Path(__file__).parent


def lease(
    run_id: str,
    *,
    pid: int | None = None,
    host: str | None = None,
    ttl: float = 600,
    operation: str = "apply",
    pid_namespace: str | None = None,
) -> LockInfo:
    now = time.time()
    me = lease_identity()
    return LockInfo(
        owner="alice@example",
        host=host or socket.gethostname(),
        pid=os.getpid() if pid is None else pid,
        run_id=run_id,
        acquired_at=now,
        expires_at=now + ttl,
        operation=operation,
        boot_id=me.boot_id,
        pid_namespace=me.pid_namespace if pid_namespace is None else pid_namespace,
    )


def dead_pid() -> int:
    """The pid of a process that has certainly exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_two_processes_contend_exactly_one_wins(store: SqliteStateStore, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "lock_contender.py"), str(store.path), str(go), run],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for run in ("run-a", "run-b")
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert json.loads(proc.stdout.readline()) == {"ready": True}
        go.touch()
        results = []
        for proc in procs:
            assert proc.stdout is not None
            results.append(json.loads(proc.stdout.readline()))
    finally:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in procs:
            proc.wait(timeout=30)
    winners = [r for r in results if r["won"]]
    losers = [r for r in results if not r["won"]]
    assert len(winners) == 1 and len(losers) == 1
    message = losers[0]["error"]
    assert f"pid {winners[0]['pid']}" in message
    assert socket.gethostname() in message
    assert "tester@" in message and "'apply'" in message
    assert "since" in message and "expires at" in message
    held = store.lock_info()
    assert held is not None and held.pid == winners[0]["pid"]


def test_live_lease_refused_with_holder_details(store: SqliteStateStore) -> None:
    assert store.acquire_lock(lease("run-1", operation="destroy")) is None
    with pytest.raises(LockedError) as info:
        store.acquire_lock(lease("run-2"))
    error = info.value
    assert error.exit_code == ExitCode.LOCKED
    text = str(error)
    for part in ("alice@example", socket.gethostname(), f"pid {os.getpid()}", "run-1", "destroy"):
        assert part in text
    assert "podium state unlock" in text
    held = store.lock_info()
    assert held is not None and held.run_id == "run-1"


def test_same_run_reacquires(store: SqliteStateStore) -> None:
    store.acquire_lock(lease("run-1"))
    assert store.acquire_lock(lease("run-1", ttl=900)) is None


def test_expired_lease_is_taken_over(store: SqliteStateStore) -> None:
    old = lease("run-old", host="elsewhere.example", pid=1, ttl=-1)
    store.acquire_lock(old)
    taken = store.acquire_lock(lease("run-new"))
    assert taken == dataclasses.replace(old, epoch=1)  # as granted: with its epoch
    held = store.lock_info()
    assert held is not None and held.run_id == "run-new" and held.epoch == 2


def test_dead_holder_on_this_host_is_taken_over(store: SqliteStateStore) -> None:
    gone = lease("run-crashed", pid=dead_pid())
    store.acquire_lock(gone)
    taken = store.acquire_lock(lease("run-new"))
    assert taken == dataclasses.replace(gone, epoch=1)
    held = store.lock_info()
    assert held is not None and held.run_id == "run-new"


def test_holder_in_another_pid_namespace_is_not_presumed_dead(store: SqliteStateStore) -> None:
    # A container on this host with the same hostname: its pid means nothing here.
    assert lease_identity().pid_namespace, "this test needs Linux's /proc/self/ns/pid"
    store.acquire_lock(lease("run-container", pid=dead_pid(), pid_namespace="pid:[1]"))
    with pytest.raises(LockedError, match="run-container"):
        store.acquire_lock(lease("run-new"))
    # ... until its lease expires.
    store.force_unlock()
    store.acquire_lock(lease("run-container", pid=dead_pid(), pid_namespace="pid:[1]", ttl=-1))
    assert store.acquire_lock(lease("run-new")) is not None


def test_a_lease_without_boot_and_namespace_is_not_presumed_dead(store: SqliteStateStore) -> None:
    # Written by an older Podium (or a backend that drops the fields): expiry only.
    gone = dataclasses.replace(lease("run-old", pid=dead_pid()), boot_id="", pid_namespace="")
    store.acquire_lock(gone)
    with pytest.raises(LockedError, match="run-old"):
        store.acquire_lock(lease("run-new"))


def test_holder_on_another_host_is_not_presumed_dead(store: SqliteStateStore) -> None:
    store.acquire_lock(lease("run-remote", host="elsewhere.example", pid=dead_pid()))
    with pytest.raises(LockedError, match=r"elsewhere\.example"):
        store.acquire_lock(lease("run-new"))


def test_renew_and_release(store: SqliteStateStore) -> None:
    store.acquire_lock(lease("run-1", ttl=5))
    later = time.time() + 1000
    store.renew_lock("run-1", later)
    held = store.lock_info()
    assert held is not None and held.expires_at == later
    store.release_lock("run-other")  # not the holder: nothing happens
    assert store.lock_info() is not None
    store.release_lock("run-1")
    assert store.lock_info() is None
    with pytest.raises(StateError, match="lost its lock"):
        store.renew_lock("run-1", later)


def test_renew_after_takeover_names_new_holder(store: SqliteStateStore) -> None:
    store.acquire_lock(lease("run-slow", ttl=-1))
    store.acquire_lock(lease("run-fast"))
    with pytest.raises(StateError, match="run-fast"):
        store.renew_lock("run-slow", time.time() + 60)


def test_force_unlock(store: SqliteStateStore) -> None:
    assert store.force_unlock() is None
    held = lease("run-1", host="elsewhere.example")
    store.acquire_lock(held)
    assert store.force_unlock() == dataclasses.replace(held, epoch=1)
    assert store.lock_info() is None
    store.acquire_lock(lease("run-2"))
    granted = store.lock_info()
    # The unlock moved the epoch on (fencing run-1 out), and run-2 got the next one.
    assert granted is not None and granted.epoch == 3
