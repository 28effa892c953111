"""Servers' liveness records in a real SQLite server store (PostgreSQL: test_serve_replicas).

A server's heartbeat keeps its record fresh; a record older than the timeout (by the
database's clock) is a dead server, whose unfinished runs any other server marks
``aborted``; a server that stops cleanly retires itself. Records are aged by editing
the database, not by sleeping, so nothing here depends on the machine's speed.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podium.config.loader import load_config_text
from podium.errors import ConfigError
from podium.serve.liveness import GONE, Heartbeat, server_gone, server_identity
from podium.serve.store import RunRow, ServerStore, now


def _run(store: ServerStore, server: str, status: str) -> str:
    row = RunRow(
        id=f"{len(store.runs()):032x}",
        environment="dev",
        operation="apply",
        plan_id=None,
        team="payments",
        who="token:x",
        status=status,
        created_at=now(),
        server=server,
    )
    store.add_run(row)
    return row.id


def _status(store: ServerStore, run_id: str) -> str:
    row = store.run(run_id)
    assert row is not None
    return row.status


def _age(path: Path, server: str, seconds: float) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE servers SET beat_at = beat_at - ? WHERE id = ?", (seconds, server))


def test_a_silent_server_is_retired_with_its_unfinished_runs(tmp_path: Path) -> None:
    path = tmp_path / "serve.db"
    store = ServerStore(path)
    far, near = "far-away|boot|pid:[1]|4242", "near|boot|pid:[1]|4343"
    assert store.beat(far) is False  # its first beat records it
    assert store.beat(far) is True and store.beat(near) is False
    running, queued = _run(store, far, "running"), _run(store, far, "queued")
    done, other = _run(store, far, "succeeded"), _run(store, near, "running")
    assert store.retire_silent_servers(30, GONE) == {}  # everyone beat just now

    _age(path, far, 3600)
    assert set(store.servers()) == {far, near} and store.servers()[far] > 3000
    assert store.retire_silent_servers(30, GONE) == {far: 2}
    for run_id in (running, queued):
        row = store.run(run_id)
        assert row is not None and row.status == "aborted" and row.finished_at
        assert row.detail == {"error": GONE}
    assert [_status(store, r) for r in (done, other)] == ["succeeded", "running"]
    assert set(store.servers()) == {near}
    assert store.retire_silent_servers(30, GONE) == {}  # retired once
    assert store.beat(far) is False  # back from a stall: it records itself again
    store.close()


def test_a_heartbeat_thread_beats_and_a_clean_stop_retires_its_server(tmp_path: Path) -> None:
    path = tmp_path / "serve.db"
    store = ServerStore(path)
    dead = "far-away|boot|pid:[1]|4242"
    store.beat(dead)
    dead_run = _run(store, dead, "running")
    _age(path, dead, 3600)
    me = server_identity({"PODIUM_SERVE_HOST_ID": "replica-7"})
    assert me.startswith("replica-7|")
    heartbeat = Heartbeat(store, me, interval=0.05, timeout=600)
    heartbeat.start()  # retires the silent server before it returns
    try:
        assert heartbeat.retired == {dead: 1}
        assert _status(store, dead_run) == "aborted"
        _age(path, me, 100)
        deadline = time.monotonic() + 60
        while store.servers()[me] > 50:  # the thread's next beat renews the record
            assert time.monotonic() < deadline, "the heartbeat thread did not beat"
            time.sleep(0.05)
        mine = _run(store, me, "running")
    finally:
        heartbeat.stop()
    assert me not in store.servers()
    assert _status(store, mine) == "aborted"
    store.close()


def test_only_a_server_on_this_machine_is_known_dead_by_its_pid() -> None:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    me = server_identity({})
    host, boot, namespace, _pid = me.split("|")
    assert server_gone(f"{host}|{boot}|{namespace}|{ended.pid}", me)
    assert not server_gone(me, me)  # this very process
    elsewhere = server_identity({"PODIUM_SERVE_HOST_ID": "far-away"})
    assert not server_gone(f"far-away|{boot}|{namespace}|{ended.pid}", me)
    assert server_gone(f"far-away|{boot}|{namespace}|{ended.pid}", elsewhere)
    assert not server_gone("not an identity", me)


def test_the_timeout_must_outlast_two_heartbeats() -> None:
    config, _ = load_config_text("[serve]\nheartbeat_interval = 2\nheartbeat_timeout = 6\n")
    assert (config.serve.heartbeat_interval, config.serve.heartbeat_timeout) == (2, 6)
    with pytest.raises(ConfigError, match="twice heartbeat_interval"):
        load_config_text("[serve]\nheartbeat_interval = 10\nheartbeat_timeout = 15\n")
