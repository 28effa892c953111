"""The PostgreSQL state store beyond the conformance kit: races, atomicity, secrets, schema."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import (
    ConfigError,
    EnvironmentInfo,
    Intent,
    IntentOutcome,
    LockedError,
    LockInfo,
    NotFoundError,
    ResourceRecord,
    Secret,
    StateCipher,
    StateError,
    generate_key,
    lease_identity,
)
from podium_postgres.schema import SCHEMA_VERSION
from podium_postgres.store import PostgresStateBackend, PostgresStateStore

SQL = Callable[..., list[tuple[Any, ...]]]


def env_info(tmp_path: Path, platform: str = "shop", environment: str = "prod") -> EnvironmentInfo:
    return EnvironmentInfo(platform=platform, environment=environment, state_dir=tmp_path)


@pytest.fixture
def opener(dsn: str, schema: str, tmp_path: Path) -> Iterator[Callable[..., PostgresStateStore]]:
    opened: list[PostgresStateStore] = []

    def open_store(platform: str = "shop", environment: str = "prod") -> PostgresStateStore:
        store = PostgresStateBackend().open(
            env_info(tmp_path, platform, environment), {"dsn": dsn, "schema": schema}
        )
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Callable[..., PostgresStateStore]) -> PostgresStateStore:
    return opener()


def record(uid: str, **changes: Any) -> ResourceRecord:
    data: dict[str, Any] = {
        "uid": uid,
        "kind": "resource",
        "provider": "test",
        "plugin": "test",
        "spec": {"params": {"size": 1}},
        "spec_hash": "h1",
        "outputs": {"host": "db.internal"},
        "physical_name": "shop-prod-" + uid.rsplit("#", 1)[-1],
        "depends_on": ["resource:other"],
    }
    data.update(changes)
    return ResourceRecord(**data)


def lock(
    run_id: str, ttl: float = 600, host: str | None = None, pid: int = 0, pid_namespace: str = ""
) -> LockInfo:
    now = time.time()
    me = lease_identity()
    return LockInfo(
        owner=f"{run_id}@test",
        host=host or socket.gethostname(),
        pid=pid or os.getpid(),
        run_id=run_id,
        acquired_at=now,
        expires_at=now + ttl,
        boot_id=me.boot_id,
        pid_namespace=pid_namespace or me.pid_namespace,
    )


# ------------------------------------------------------------------------- records
def test_records_round_trip_every_field_and_bump_the_serial(store: PostgresStateStore) -> None:
    first = record("resource:db#web.db", spec={"z": 1, "a": [1, "two", None], "nul": "a\u0000b"})
    serial = store.serial()
    store.put_record(first)
    assert store.serial() == serial + 1
    [stored] = store.records()
    assert stored.to_dict() == {**first.to_dict(), "updated_at": stored.updated_at}
    assert list(stored.spec) == ["z", "a", "nul"]  # stored as given: key order kept
    assert stored.updated_at
    store.delete_record("resource:db#web.db")
    assert store.serial() == serial + 2
    store.delete_record("resource:db#web.db")  # nothing to delete: no change
    assert store.serial() == serial + 2


def test_environments_sharing_a_schema_are_isolated(
    opener: Callable[..., PostgresStateStore],
) -> None:
    prod, dev, other = opener("shop", "prod"), opener("shop", "dev"), opener("blog", "prod")
    prod.put_record(record("resource:a"))
    prod.put_generated("resource:a", "password", "tok")
    prod.acquire_lock(lock("run-prod"))
    prod.add_history({"operation": "apply"})
    prod.add_release("web", {"n": 1})
    for store in (dev, other):
        assert store.records() == [] and store.serial() == 0
        assert store.get_generated("resource:a", "password") is None
        assert store.lock_info() is None
        assert store.history() == [] and store.releases("web") == []
        store.acquire_lock(lock("run-other"))  # its own lock, not prod's
    assert dev.add_release("web", {}) == 1
    assert prod.lock_info() is not None and prod.lock_info().run_id == "run-prod"  # type: ignore[union-attr]


def test_two_stores_on_one_environment_see_each_others_writes(
    opener: Callable[..., PostgresStateStore],
) -> None:
    mine, theirs = opener(), opener()
    mine.put_record(record("resource:a"))
    assert [r.uid for r in theirs.records()] == ["resource:a"]
    assert theirs.serial() == mine.serial() == 1


# ------------------------------------------------------------------------- journal
def test_journal_closes_and_opens_in_one_transaction(store: PostgresStateStore) -> None:
    [a, b] = store.begin_intents(
        [
            Intent(node="resource:a", action="create", spec={"p": 1}, run_id="r"),
            Intent(node="resource:b", action="create", spec={"p": 2}, run_id="r"),
        ]
    )
    assert b > a
    store.put_record(record("resource:old"))
    serial = store.serial()
    ids = store.journal(
        [
            IntentOutcome(a, record=record("resource:a")),
            IntentOutcome(b, delete_uid="resource:old"),
        ],
        [
            Intent(node=f"resource:n{i}", action="create", spec={"i": i}, run_id="r")
            for i in range(5)
        ],
    )
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert store.serial() == serial + 1  # one transaction, one change
    assert [r.uid for r in store.records()] == ["resource:a"]
    pending = store.pending_intents()
    assert [(i.id, i.node, i.spec) for i in pending] == [
        (ids[i], f"resource:n{i}", {"i": i}) for i in range(5)
    ]


def test_a_failing_outcome_leaves_nothing_written(
    store: PostgresStateStore, sql: SQL, schema: str
) -> None:
    [pending] = store.begin_intents(
        [Intent(node="resource:a", action="create", spec={}, run_id="r")]
    )
    before = store.serial()
    count_intents = f'SELECT count(*) FROM "{schema}".intents'
    [(intents_before,)] = sql(count_intents)
    with pytest.raises(StateError, match="intent 987654 is not pending"):
        store.journal(
            [
                IntentOutcome(pending, record=record("resource:a")),
                IntentOutcome(987654, delete_uid="resource:a"),
            ],
            [Intent(node="resource:c", action="create", spec={}, run_id="r")],
        )
    assert store.records() == []
    assert store.serial() == before
    assert [i.id for i in store.pending_intents()] == [pending]  # still open
    assert sql(count_intents) == [(intents_before,)]  # no new intent either
    # Closing an intent twice is refused too, and the first close stands.
    store.complete_intent(pending, record=record("resource:a"))
    with pytest.raises(StateError, match="not pending"):
        store.complete_intent(pending, delete_uid="resource:a")
    assert [r.uid for r in store.records()] == ["resource:a"]


def test_intents_of_another_environment_cannot_be_closed(
    opener: Callable[..., PostgresStateStore],
) -> None:
    prod, dev = opener("shop", "prod"), opener("shop", "dev")
    intent_id = prod.begin_intent(Intent(node="resource:a", action="create", spec={}, run_id="r"))
    with pytest.raises(StateError, match="not pending"):
        dev.complete_intent(intent_id)
    assert [i.id for i in prod.pending_intents()] == [intent_id]


# ------------------------------------------------------------------------- secrets
def test_sealed_secrets_never_reach_the_tables_in_plaintext(
    store: PostgresStateStore, sql: SQL, schema: str
) -> None:
    canary = "canary-Zq8vXk2-never-in-state"
    cipher = StateCipher(generate_key())
    outputs = cipher.seal({"host": "db.internal", "password": Secret(canary)})
    intent_id = store.begin_intent(
        Intent(
            node="resource:db",
            action="create",
            spec=cipher.seal({"params": {"token": Secret(canary)}}),
            run_id="r",
        )
    )
    store.complete_intent(intent_id, record=record("resource:db", outputs=outputs))
    store.put_generated("resource:db", "password", cipher.encrypt(canary))
    store.add_history({"operation": "apply", "outputs": outputs})
    store.add_release("web", {"env": cipher.seal({"DB_PASSWORD": Secret(canary)})})
    tables = ("records", "intents", "generated", "history", "releases", "locks", "environments")
    seen = 0
    for table in tables:
        for row in sql(f'SELECT t::text FROM "{schema}".{table} t'):
            seen += 1
            assert canary not in row[0], f"plaintext secret in {table}"
    assert seen >= 5
    [stored] = store.records()
    assert cipher.unseal(stored.outputs)["password"].reveal() == canary


def test_an_unsealed_secret_is_refused_before_anything_is_written(
    store: PostgresStateStore,
) -> None:
    with pytest.raises(StateError, match="unsealed Secret"):
        store.put_record(record("resource:db", outputs={"password": Secret("plain")}))
    with pytest.raises(StateError, match="unsealed Secret"):
        store.add_history({"password": Secret("plain")})
    assert store.records() == [] and store.history() == [] and store.serial() == 0


# ---------------------------------------------------------------------------- lock
def test_lock_is_reentrant_renewable_and_reports_the_holder(store: PostgresStateStore) -> None:
    assert store.acquire_lock(lock("run-1")) is None
    assert store.acquire_lock(lock("run-1")) is None  # the same run again
    with pytest.raises(LockedError) as raised:
        store.acquire_lock(lock("run-2"))
    message = str(raised.value)
    assert "run-1@test" in message and "run run-1" in message and "shop/prod" in message
    store.renew_lock("run-1", time.time() + 1000)
    info = store.lock_info()
    assert info is not None and info.expires_at > time.time() + 900
    with pytest.raises(StateError, match=r"lost its lock .* held by run-1@test"):
        store.renew_lock("run-2", time.time() + 10)
    store.release_lock("run-2")  # not the holder: nothing happens
    assert store.lock_info() is not None
    store.release_lock("run-1")
    with pytest.raises(StateError, match="the lock was removed"):
        store.renew_lock("run-1", time.time() + 10)


def test_dead_holder_is_taken_over_only_on_its_own_host(store: PostgresStateStore) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    store.acquire_lock(lock("crashed", pid=dead_pid))
    taken = store.acquire_lock(lock("next"))
    assert taken is not None and taken.run_id == "crashed"
    store.force_unlock()
    # The same dead pid on another machine says nothing about that machine: keep it.
    store.acquire_lock(lock("remote", host="some-other-host", pid=dead_pid))
    with pytest.raises(LockedError, match="host some-other-host"):
        store.acquire_lock(lock("next"))
    forced = store.force_unlock()
    assert forced is not None and forced.run_id == "remote"
    assert store.force_unlock() is None
    # Nor on this host in another PID namespace (a container with the same hostname).
    store.acquire_lock(lock("container", pid=dead_pid, pid_namespace="pid:[1]"))
    with pytest.raises(LockedError, match="run container"):
        store.acquire_lock(lock("next"))


def test_two_processes_race_for_the_lock_and_exactly_one_wins(
    dsn: str, schema: str, store: PostgresStateStore, tmp_path: Path
) -> None:
    contender = Path(__file__).with_name("lock_contender.py")
    for round_ in range(3):
        go = tmp_path / f"go-{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, str(contender), dsn, schema, str(tmp_path), str(go), run_id],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for run_id in (f"left-{round_}", f"right-{round_}")
        ]
        try:
            for proc in procs:
                assert proc.stdout is not None
                assert proc.stdout.readline().strip() == "ready", proc.stderr.read()  # type: ignore[union-attr]
            go.touch()
            lines = [proc.stdout.readline().strip() for proc in procs]  # type: ignore[union-attr]
            holder = store.lock_info()
            assert holder is not None
            outcomes = sorted(line.split(":")[0] for line in lines)
            assert outcomes == ["acquired", "locked"], lines
            [loser] = [line for line in lines if line.startswith("locked")]
            assert f"run {holder.run_id}" in loser and holder.owner in loser
        finally:
            Path(str(go) + ".done").touch()
            for proc in procs:
                proc.wait(timeout=60)
        store.force_unlock()


def test_threads_racing_for_the_lock_exactly_one_wins(
    opener: Callable[..., PostgresStateStore],
) -> None:
    stores = [opener() for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    results: list[str] = []

    def contend(index: int) -> None:
        barrier.wait()
        try:
            stores[index].acquire_lock(lock(f"run-{index}"))
            results.append("acquired")
        except LockedError:
            results.append("locked")

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["acquired"] + ["locked"] * (len(stores) - 1)


# ------------------------------------------------------------------ history, releases
def test_update_of_a_missing_history_entry_is_not_found(store: PostgresStateStore) -> None:
    with pytest.raises(NotFoundError, match="no history entry 424242"):
        store.update_history(424242, {"status": "x"})


def test_concurrent_releases_get_distinct_numbers(
    opener: Callable[..., PostgresStateStore],
) -> None:
    stores = [opener() for _ in range(4)]
    numbers: list[int] = []
    lock_ = threading.Lock()

    def add(store: PostgresStateStore) -> None:
        for _ in range(5):
            number = store.add_release("web", {"by": id(store)})
            with lock_:
                numbers.append(number)

    threads = [threading.Thread(target=add, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 21))
    assert [r["number"] for r in stores[0].releases("web")] == list(range(1, 21))


# -------------------------------------------------------------------------- schema
def test_schema_is_versioned_and_migrated_once(
    opener: Callable[..., PostgresStateStore], sql: SQL, schema: str
) -> None:
    stores: list[PostgresStateStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            stores.append(opener())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(5)]  # a fresh schema, at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(stores) == 5
    assert sql(f'SELECT version FROM "{schema}".schema_version') == [(SCHEMA_VERSION,)]


def test_a_newer_schema_is_refused_clearly(
    opener: Callable[..., PostgresStateStore], sql: SQL, schema: str
) -> None:
    opener().put_record(record("resource:a"))
    sql(f'UPDATE "{schema}".schema_version SET version = %s', (SCHEMA_VERSION + 1,))
    with pytest.raises(StateError, match="newer podium-postgres") as raised:
        opener()
    assert f"version {SCHEMA_VERSION + 1}" in str(raised.value)
    assert schema in str(raised.value)
    sql(f'UPDATE "{schema}".schema_version SET version = %s', (SCHEMA_VERSION,))
    assert [r.uid for r in opener().records()] == ["resource:a"]  # untouched


def test_records_from_before_owners_migrate_with_no_owner(
    dsn: str, opener: Callable[..., PostgresStateStore], sql: SQL, schema: str
) -> None:
    """A version-1 schema (before records had owners) with a record, as an older plugin left it."""
    import psycopg

    from podium_postgres.schema import migrate

    with psycopg.connect(dsn, autocommit=True) as db:
        assert migrate(db, schema, "test", target=1) == 0
    sql(
        f'INSERT INTO "{schema}".records (platform, environment, uid, kind, provider, plugin, '
        "physical_name, spec, spec_hash, outputs, depends_on, updated_at) "
        "VALUES ('shop', 'prod', 'deployment:web', 'deployment', 'local', 'podium-local', "
        """'web', '{"workload": "web"}', 'h1', '{}', '[]', '2026-01-01T00:00:00Z')"""
    )
    store = opener()
    assert sql(f'SELECT version FROM "{schema}".schema_version') == [(SCHEMA_VERSION,)]
    [old] = store.records()
    assert (old.uid, old.spec, old.owner) == ("deployment:web", {"workload": "web"}, None)
    # The first plan that includes it adopts it; applying writes the owner.
    old.owner = "payments"
    store.put_record(old)
    assert [r.owner for r in store.records()] == ["payments"]


def test_records_with_bookkeeping_inside_spec_are_read_and_rewritten_beside_it(
    dsn: str, opener: Callable[..., PostgresStateStore], sql: SQL, schema: str
) -> None:
    """A version-2 schema: the engine's bookkeeping (``_digest``...) inside the spec column."""
    import json

    import psycopg

    from podium_postgres.schema import migrate

    with psycopg.connect(dsn, autocommit=True) as db:
        assert migrate(db, schema, "test", target=2) == 0
    spec = {"workload": "web", "_digest": "d1", "_failed": 2, "_attributes": {"a": "b"}}
    sql(
        f'INSERT INTO "{schema}".records (platform, environment, uid, kind, provider, plugin, '
        "physical_name, spec, spec_hash, outputs, depends_on, updated_at, owner) "
        "VALUES ('shop', 'prod', 'deployment:web', 'deployment', 'local', 'podium-local', "
        f"'web', '{json.dumps(spec)}', 'h1', '{{}}', '[]', '2026-01-01T00:00:00Z', 'team')"
    )
    store = opener()
    [old] = store.records()
    assert old.spec == {"workload": "web"}
    assert (old.digest, old.failed_release, old.attributes) == ("d1", 2, {"a": "b"})
    store.put_record(old)  # the engine's next write stores it beside the spec
    [(stored_spec, bookkeeping)] = sql(f'SELECT spec, bookkeeping FROM "{schema}".records')
    assert json.loads(str(stored_spec)) == {"workload": "web"}
    assert json.loads(str(bookkeeping)) == {
        "digest": "d1",
        "failed_release": 2,
        "attributes": {"a": "b"},
    }
    assert store.records() == [old]


# ----------------------------------------------------------------- options, errors
def test_unreachable_server_names_the_host_but_never_the_password(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    dsn = f"postgresql://podium:hunter2-Secret@127.0.0.1:{port}/teamstate"
    with pytest.raises(StateError) as raised:
        PostgresStateBackend().open(env_info(tmp_path), {"dsn": dsn, "connect_timeout": 2})
    text = str(raised.value) + str(raised.value.__cause__) + repr(raised.value)
    assert f"postgresql://127.0.0.1:{port}/teamstate" in text
    assert "unreachable" in text
    assert "hunter2" not in text


def test_an_unparsable_dsn_is_a_config_error_quoting_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        PostgresStateBackend().open(env_info(tmp_path), {"dsn": "host=x password=s3cr3t junk"})
    assert raised.value.field == "state.options.dsn"
    assert "s3cr3t" not in str(raised.value)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({}, "state.options.dsn"),
        ({"dsn": "host=x", "bogus": 1}, "state.options.bogus"),
        ({"dsn": "host=x", "schema": "bad-name; drop"}, "state.options.schema"),
        ({"dsn": "host=x", "connect_timeout": 0}, "state.options.connect_timeout"),
    ],
)
def test_bad_options_are_config_errors_naming_the_field(
    tmp_path: Path, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        PostgresStateBackend().open(env_info(tmp_path), options)
    assert raised.value.field == field


def test_the_store_is_the_core_sql_layer_plus_a_dialect(dsn: str, schema: str) -> None:
    """Bookkeeping is written once, in podium.state.sql; the plugin supplies the dialect."""
    import inspect

    from podium.plugin import Scope, SqlStateStore, StateStore, TransactionalStateStore
    from podium_postgres.store import PostgresDialect

    contract = {
        name
        for cls in (StateStore, TransactionalStateStore)
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }
    assert issubclass(PostgresStateStore, SqlStateStore)
    assert not contract & set(vars(PostgresStateStore))
    store = PostgresStateStore(dsn, platform="p", environment="dev", schema=schema)
    try:
        assert isinstance(store.dialect, PostgresDialect)
        assert store.dialect.scope("records") == Scope(("platform", "environment"), ("p", "dev"))
        assert store.dialect.table("lock") == f'"{schema}".locks'
    finally:
        store.close()
