"""The PostgreSQL backend against a real server that restarts, stalls and withholds rights.

* A server restart mid-apply is ridden out: the run succeeds, its lease is
  neither reported lost nor left behind (issue 14, item 6).
* A state call cut off mid-way by the server is retried when it is idempotent.
* A row another session holds fails a call after ``pg_lock_timeout`` instead of
  blocking it forever; ``pg_statement_timeout`` is set on every connection.
* The README's least-privilege role, created with exactly the README's SQL,
  runs plan, up and destroy through the CLI.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_project import Project, config

from podium.plugin import EnvironmentInfo, Intent, LockInfo, StateError
from podium_postgres.store import PostgresStateBackend, PostgresStateStore

README = Path(__file__).resolve().parents[1] / "README.md"


def query(dsn: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one statement on a connection of its own (any earlier one may have died in a restart)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as db:
        cursor = db.execute(statement, params)
        return cursor.fetchall() if cursor.description is not None else []


def lease(run_id: str) -> LockInfo:
    now = time.time()
    return LockInfo(f"{run_id}@test", "test-host", 1, run_id, now, now + 600, "apply")


@pytest.fixture
def opener(dsn: str, schema: str, tmp_path: Path) -> Iterator[Callable[..., PostgresStateStore]]:
    opened: list[PostgresStateStore] = []

    def open_store(**options: Any) -> PostgresStateStore:
        env = EnvironmentInfo(platform="shop", environment="prod", state_dir=tmp_path)
        store = PostgresStateBackend().open(env, {"dsn": dsn, "schema": schema, **options})
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


def hold_environment_row(dsn: str, schema: str) -> Any:
    """Another session that locks the environment's row and keeps its transaction open."""
    import psycopg

    blocker = psycopg.connect(dsn)  # not autocommit: the transaction stays open
    blocker.execute(
        f'SELECT 1 FROM "{schema}".environments WHERE platform = %s AND environment = %s '
        "FOR UPDATE",
        ("shop", "prod"),
    )
    return blocker


def waiting_backend(dsn: str, schema: str) -> int:
    """The pid of podium's backend that waits for a lock on a statement of ``schema``."""
    for _ in range(600):
        rows = query(
            dsn,
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'podium' "
            "AND wait_event_type = 'Lock' AND position(%s in query) > 0",
            (schema,),
        )
        if rows:
            return int(rows[0][0])
        time.sleep(0.05)
    raise AssertionError("podium's statement never waited for the lock")


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# ------------------------------------------------------------------- restarts
def test_a_server_restart_mid_apply_is_ridden_out(
    tmp_path: Path, postgres_server: Any, dsn: str, schema: str
) -> None:
    # The lease is renewed every 2 s, so renewals meet the restart and follow it.
    project = Project(tmp_path, config(dsn, schema, lock_ttl=6))
    restart = f"{postgres_server.restart_command()} && sleep 3"
    done = project.run("up", "--yes", PODIUM_PG_WORLD_ON_CREATE=restart)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "lock lost" not in output
    assert [p.name for p in (project.world / "notes").iterdir()]  # created across the restart
    assert query(dsn, f'SELECT count(*) FROM "{schema}".locks') == [(0,)]
    pending = f'SELECT count(*) FROM "{schema}".intents WHERE completed_at IS NULL'
    assert query(dsn, pending) == [(0,)]
    history = project.run("--json", "history")
    assert '"status": "succeeded"' in history.stdout, history.stdout


def test_every_call_works_on_after_a_restart_between_calls(
    opener: Callable[..., PostgresStateStore], postgres_server: Any
) -> None:
    import subprocess

    store = opener()
    store.acquire_lock(lease("run-1"))
    assert store.serial() == 0  # the pool now holds connections the restart will kill
    subprocess.run(postgres_server.restart_command(), shell=True, check=True, timeout=120)
    # The journal is not retried (not idempotent), so it must start on a live connection.
    [intent_id] = store.journal([], [Intent("note.default#web.memo", "create", {}, "run-1")])
    assert [i.id for i in store.pending_intents()] == [intent_id]
    store.renew_lock("run-1", time.time() + 600)
    store.release_lock("run-1")
    assert store.lock_info() is None


def test_an_idempotent_call_cut_off_mid_way_is_retried(
    opener: Callable[..., PostgresStateStore], dsn: str, schema: str
) -> None:
    store = opener()
    blocker = hold_environment_row(dsn, schema)
    try:
        thread, outcome = in_thread(lambda: store.acquire_lock(lease("run-2")))
        backend = waiting_backend(dsn, schema)
        # What a server shutdown does to each session: it is terminated mid-statement.
        assert query(dsn, "SELECT pg_terminate_backend(%s)", (backend,)) == [(True,)]
        waiting_backend(dsn, schema)  # the retry, on a new connection, waits again
    finally:
        blocker.rollback()
        blocker.close()
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")
    held = store.lock_info()
    assert held is not None and held.run_id == "run-2"


def test_a_non_idempotent_call_cut_off_mid_way_fails_clearly(
    opener: Callable[..., PostgresStateStore], dsn: str, schema: str
) -> None:
    """A release number is drawn under the row lock: it may have committed, so no retry."""
    store = opener()
    blocker = hold_environment_row(dsn, schema)
    try:
        thread, outcome = in_thread(lambda: store.add_release("web", {"image": "a"}))
        query(dsn, "SELECT pg_terminate_backend(%s)", (waiting_backend(dsn, schema),))
        thread.join(timeout=120)
    finally:
        blocker.rollback()
        blocker.close()
    assert isinstance(outcome.get("error"), StateError)
    assert "restarting" in str(outcome["error"])
    assert store.releases("web") == []  # and the store works on
    assert store.add_release("web", {"image": "b"}) == 1


# ---------------------------------------------------------------- wait limits
def test_a_held_row_fails_after_pg_lock_timeout_instead_of_blocking(
    opener: Callable[..., PostgresStateStore], dsn: str, schema: str
) -> None:
    store = opener(pg_lock_timeout=0.5)
    blocker = hold_environment_row(dsn, schema)
    try:
        thread, outcome = in_thread(lambda: store.acquire_lock(lease("run-3")))
        thread.join(timeout=120)  # today: blocked until the other session ends
        assert not thread.is_alive(), "the state call is still waiting for the row"
    finally:
        blocker.rollback()
        blocker.close()
    error = outcome.get("error")
    assert isinstance(error, StateError), outcome
    assert "pg_lock_timeout (0.5s)" in str(error)
    assert "another database session" in str(error)
    assert error.hint is not None and "pg_stat_activity" in error.hint
    store.acquire_lock(lease("run-3"))  # the row is free again: the same call succeeds


def test_every_connection_carries_the_server_wait_limits(
    opener: Callable[..., PostgresStateStore],
) -> None:
    store = opener(pg_lock_timeout=2, pg_statement_timeout=90)
    db = store.dialect.connect()
    try:
        shown = db.execute(
            "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
        ).fetchone()
    finally:
        db.close()
    assert shown == ("2s", "90s")
    defaults = opener().dialect.connect()
    try:
        assert defaults.execute("SHOW lock_timeout").fetchone() == ("30s",)
    finally:
        defaults.close()


# ------------------------------------------------------- least-privilege role
def readme_role_sql() -> str:
    text = README.read_text()
    section = text[text.index("## A least-privilege role") :]
    found = re.search(r"```sql\n(.*?)```", section, re.S)
    assert found is not None, "the README's least-privilege section has no sql block"
    return found.group(1)


def test_the_readmes_least_privilege_role_runs_plan_up_destroy(
    tmp_path: Path, postgres_server: Any, dsn: str
) -> None:
    database = f"lp_{uuid.uuid4().hex[:10]}"
    query(dsn, f"CREATE DATABASE {database}")
    admin = f"postgresql://postgres@127.0.0.1:{postgres_server.port}/{database}"
    for statement in readme_role_sql().split(";"):
        if statement.strip():
            query(admin, statement)

    def as_role(role: str) -> str:
        return f"postgresql://{role}@127.0.0.1:{postgres_server.port}/{database}"

    # The everyday role really is least-privileged.
    assert query(
        admin,
        "SELECT has_database_privilege('podium_app', current_database(), 'CREATE'), "
        "has_schema_privilege('podium_app', 'podium', 'CREATE')",
    ) == [(False, False)]

    project = Project(tmp_path, config(as_role("podium_app"), "podium"))
    refused = project.run("plan")  # no tables yet, and podium_app may not create them
    assert refused.returncode != 0
    assert "run podium once" in refused.stderr, refused.stderr

    (project.root / "podium.toml").write_text(config(as_role("podium_owner"), "podium"))
    owner = project.run("doctor")
    assert owner.returncode == 0, owner.stdout + owner.stderr

    (project.root / "podium.toml").write_text(config(as_role("podium_app"), "podium"))
    for step in (("plan",), ("up", "--yes"), ("status",), ("destroy", "--yes")):
        done = project.run(*step)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
    assert query(admin, "SELECT count(*) FROM podium.records") == [(0,)]
    # two entries (up, destroy), each a start and an outcome record (history is append-only)
    assert query(admin, "SELECT count(DISTINCT entry_id) FROM podium.history") == [(2,)]
    assert query(admin, "SELECT count(*) FROM podium.history") == [(4,)]
