"""Fencing and schema checks of the PostgreSQL state store, against a real server.

The conformance kit checks that a stale lease's writes are refused; these check what is
particular to PostgreSQL: the epoch read share-locks the environment's row, so a run's
writers proceed in parallel while a new lease waits for the write in progress.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.plugin import (
    ConfigError,
    EnvironmentInfo,
    LeaseLostError,
    LockInfo,
    ResourceRecord,
    lease_identity,
)
from podium_postgres.settings import Settings
from podium_postgres.store import PostgresStateBackend, PostgresStateStore


@pytest.fixture
def store(dsn: str, schema: str, tmp_path: Path) -> Iterator[PostgresStateStore]:
    env = EnvironmentInfo(platform="shop", environment="prod", state_dir=tmp_path)
    opened = PostgresStateBackend().open(env, {"dsn": dsn, "schema": schema})
    yield opened
    opened.close()


def lease(run_id: str, ttl: float = 600) -> LockInfo:
    now = time.time()
    me = lease_identity()
    return LockInfo(
        owner=f"{run_id}@test",
        host=socket.gethostname(),
        pid=os.getpid(),
        run_id=run_id,
        acquired_at=now,
        expires_at=now + ttl,
        boot_id=me.boot_id,
        pid_namespace=me.pid_namespace,
    )


def record(uid: str) -> ResourceRecord:
    return ResourceRecord(
        uid=uid, kind="resource", provider="t", plugin="t", spec={}, spec_hash="h"
    )


def epoch_of(store: PostgresStateStore, run_id: str) -> int:
    held = store.lock_info()
    assert held is not None and held.run_id == run_id
    return held.epoch


def test_parallel_writers_of_one_lease_and_a_takeover_never_deadlock(
    store: PostgresStateStore,
) -> None:
    store.acquire_lock(lease("run-a", ttl=-1))  # expired at once: run-b may take it any time
    stale = store.fenced(epoch_of(store, "run-a"))
    refused: list[str] = []
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        for i in range(30):
            try:
                # add_release locks the scope as well: the order of its locks matters.
                stale.add_release(f"w{k}", {"deployer": "x"})
                stale.put_record(record(f"resource:w{k}-{i}"))
                stale.put_generated(f"resource:w{k}", "k", str(i))
            except LeaseLostError:
                refused.append(f"w{k}")
                return
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    store.acquire_lock(lease("run-b"))  # waits for the writes in progress, never deadlocks
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    taken_at = {r.uid for r in store.records()}
    # Once run-b holds the lease, nothing run-a writes gets in.
    with pytest.raises(LeaseLostError, match="epoch"):
        stale.put_record(record("resource:late"))
    assert {r.uid for r in store.records()} == taken_at
    current = store.fenced(epoch_of(store, "run-b"))
    current.put_record(record("resource:by-b"))


def test_the_epoch_survives_unlock_and_reopen(
    store: PostgresStateStore, dsn: str, schema: str, tmp_path: Path
) -> None:
    store.acquire_lock(lease("run-a"))
    first = epoch_of(store, "run-a")
    store.force_unlock()
    env = EnvironmentInfo(platform="shop", environment="prod", state_dir=tmp_path)
    reopened = PostgresStateBackend().open(env, {"dsn": dsn, "schema": schema})
    try:
        reopened.acquire_lock(lease("run-b"))
        assert epoch_of(reopened, "run-b") > first + 1  # the unlock moved it on too
    finally:
        reopened.close()


@pytest.mark.parametrize(
    "name", ["information_schema", "pg_catalog", "pg_toast", "PG_Catalog", "pg_podium"]
)
def test_system_schemas_are_refused(name: str, dsn: str, tmp_path: Path) -> None:
    env = EnvironmentInfo(platform="shop", environment="prod", state_dir=tmp_path)
    with pytest.raises(ConfigError, match="system schema") as raised:
        PostgresStateBackend().open(env, {"dsn": dsn, "schema": name})
    assert "state.options.schema" in str(raised.value)
    with pytest.raises(ValueError, match="system schema"):
        Settings.model_validate({"schema": name})


def test_public_is_allowed(tmp_path: Path) -> None:
    # A database of Podium's own with only its public schema is a valid layout.
    assert Settings.model_validate({"schema": "public"}).schema_name == "public"
