"""History on podium-postgres is an append-only, hash-chained audit trail (issue 19 item 4).

Real PostgreSQL: concurrent processes (each with several threads) append to one
environment's chain and never fork it; raw SQL edits and deletions are found; the
migration seals entries written before the chain existed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import GENESIS_HASH, EnvironmentInfo, NotFoundError, verify_chain
from podium_postgres.store import PostgresStateBackend, PostgresStateStore

SQL = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def opener(dsn: str, schema: str, tmp_path: Path) -> Iterator[Callable[..., PostgresStateStore]]:
    opened: list[PostgresStateStore] = []

    def open_store(environment: str = "prod") -> PostgresStateStore:
        env = EnvironmentInfo(platform="shop", environment=environment, state_dir=tmp_path)
        store = PostgresStateBackend().open(env, {"dsn": dsn, "schema": schema})
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


def verdict(store: PostgresStateStore) -> Any:
    return verify_chain(store.audit_records(limit=100_000), store.audit_head())


def tamper(sql: SQL, schema: str, statement: str) -> None:
    """Someone with database access: the append-only trigger disabled, then raw SQL."""
    sql(f'ALTER TABLE "{schema}".history DISABLE TRIGGER USER')
    sql(statement.format(history=f'"{schema}".history'))


def a_run(store: PostgresStateStore, who: str = "alice") -> int:
    entry = {"operation": "apply", "who": who, "status": "running", "workloads": ["web"]}
    entry_id = store.add_history(entry)
    store.update_history(entry_id, {**entry, "status": "succeeded"})
    return entry_id


def test_runs_are_chained_per_environment(opener: Callable[..., PostgresStateStore]) -> None:
    prod, dev = opener("prod"), opener("dev")
    run = a_run(prod)
    a_run(dev, who="bob")
    [shown] = prod.history()
    assert shown["id"] == run and shown["status"] == "succeeded"
    start, outcome = prod.audit_records()
    assert (start.seq, outcome.seq, start.prev_hash) == (1, 2, GENESIS_HASH)
    assert outcome.prev_hash == start.hash and outcome.entry_id == run
    assert [r.who for r in dev.audit_records()] == ["bob", "bob"]  # its own chain
    assert verdict(prod).ok and verdict(dev).ok
    with pytest.raises(NotFoundError):
        prod.update_history(run + 1000, {"status": "x"})


def test_the_database_refuses_update_delete_and_truncate(
    store_sql: tuple[PostgresStateStore, SQL, str],
) -> None:
    store, sql, schema = store_sql
    a_run(store)
    import psycopg

    for statement in (
        "UPDATE {history} SET data = '{{}}'",
        "DELETE FROM {history}",
        "TRUNCATE {history}",
    ):
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            sql(statement.format(history=f'"{schema}".history'))
    assert verdict(store).ok and verdict(store).records == 2


@pytest.fixture
def store_sql(
    opener: Callable[..., PostgresStateStore], sql: SQL, schema: str
) -> tuple[PostgresStateStore, SQL, str]:
    return opener(), sql, schema


def test_an_edited_record_is_found(store_sql: tuple[PostgresStateStore, SQL, str]) -> None:
    store, sql, schema = store_sql
    first = a_run(store)
    a_run(store, who="bob")
    tamper(
        sql,
        schema,
        f"UPDATE {{history}} SET data = replace(data, 'alice', 'mallory') WHERE id = {first}",
    )
    found = verdict(store)
    assert not found.ok and found.first_bad_seq == 1 and found.first_bad_id == first
    assert "edited" in found.problem


def test_a_deleted_record_is_found(store_sql: tuple[PostgresStateStore, SQL, str]) -> None:
    store, sql, schema = store_sql
    for _ in range(3):
        a_run(store)
    tamper(sql, schema, "DELETE FROM {history} WHERE seq = 4")
    found = verdict(store)
    assert not found.ok and found.first_bad_seq == 4 and "missing" in found.problem
    tamper(sql, schema, "DELETE FROM {history} WHERE seq >= 4")
    found = verdict(store)
    assert not found.ok and found.first_bad_seq == 4
    assert "newest records were deleted" in found.problem


def test_concurrent_processes_never_fork_the_chain(
    dsn: str, schema: str, opener: Callable[..., PostgresStateStore], tmp_path: Path
) -> None:
    """3 processes x 3 threads append 20 runs each (a start and an outcome) at once."""
    store = opener()
    appender = Path(__file__).with_name("audit_appender.py")
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(appender), dsn, schema, str(tmp_path), str(go), f"p{i}", "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()  # type: ignore[union-attr]
        go.touch()
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0 and out.strip() == "done", err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    records = store.audit_records(limit=10_000)
    assert [r.seq for r in records] == list(range(1, 361))
    found = verdict(store)
    assert found.ok and found.records == 360
    entries = store.history(1000)
    assert len(entries) == 180 and {e["status"] for e in entries} == {"succeeded"}
    writers = {r.who for r in records}
    assert writers == {f"p{p}-t{t}" for p in range(3) for t in range(3)}


def test_entries_from_before_the_chain_are_sealed_by_the_migration(
    dsn: str, opener: Callable[..., PostgresStateStore], sql: SQL, schema: str
) -> None:
    """A version-4 schema with history in two environments, as an older plugin left it."""
    import psycopg

    from podium_postgres.schema import migrate

    with psycopg.connect(dsn, autocommit=True) as db:
        assert migrate(db, schema, "test", target=4) == 0
    old = [
        ("prod", {"operation": "apply", "who": "alice", "status": "succeeded"}),
        ("dev", {"operation": "apply", "who": "bob", "status": "failed"}),
        ("prod", {"operation": "secrets set", "who": "carol", "status": "succeeded"}),
    ]
    for environment, entry in old:
        sql(
            f'INSERT INTO "{schema}".history (platform, environment, data) VALUES (%s, %s, %s)',
            ("shop", environment, json.dumps(entry)),
        )
    prod, dev = opener("prod"), opener("dev")
    assert [e["who"] for e in prod.history()] == ["carol", "alice"]
    sealed = prod.audit_records()
    assert [(r.seq, r.origin, r.who) for r in sealed] == [
        (1, "migration", "alice"),
        (2, "migration", "carol"),
    ]
    assert [r.who for r in dev.audit_records()] == ["bob"]
    assert verdict(prod).ok and verdict(dev).ok
    a_run(prod)
    assert prod.audit_records()[2].prev_hash == sealed[1].hash and verdict(prod).records == 4
