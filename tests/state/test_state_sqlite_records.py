"""Records, intents, generated values, history and releases in the SQLite store."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from podium.errors import ConfigError, NotFoundError, StateError
from podium.platform.context import EnvironmentInfo
from podium.platform.contract import Intent, LockInfo, ResourceRecord
from podium.security.crypto import StateCipher, generate_key
from podium.security.secret import Secret
from podium.state import SqliteStateBackend, SqliteStateStore

MakeRecord = Callable[..., ResourceRecord]


def test_database_lives_in_state_dir_private_and_in_wal_mode(
    store: SqliteStateStore, env: EnvironmentInfo
) -> None:
    assert store.path == env.state_dir / "state.db"
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_options_path_relative_to_state_dir_and_validated(env: EnvironmentInfo) -> None:
    backend = SqliteStateBackend()
    opened = backend.open(env, {"path": "custom/st.db", "synchronous": "FULL"})
    try:
        assert opened.path == env.state_dir / "custom" / "st.db"
        assert opened.synchronous == "full"
        assert opened.serial() == 0
    finally:
        opened.close()
    with pytest.raises(ConfigError, match="unknown option") as info:
        backend.open(env, {"pth": "x"})
    assert info.value.field == "state.options.pth"
    with pytest.raises(ConfigError) as bad:
        backend.open(env, {"synchronous": "off"})
    assert bad.value.field == "state.options.synchronous"
    with pytest.raises(ConfigError):
        backend.open(env, {"busy_timeout": -1})


def test_record_round_trip_and_replace(store: SqliteStateStore, make_record: MakeRecord) -> None:
    assert store.records() == []
    first = make_record()
    other = make_record("deployment:web", kind="deployment", depends_on=[], physical_name=None)
    store.put_record(first)
    store.put_record(other)
    assert store.records() == [other, first]  # ordered by uid

    changed = make_record(spec={"type": "postgres", "params": {"version": "17"}}, spec_hash="d")
    store.put_record(changed)
    assert {r.uid: r for r in store.records()}[first.uid] == changed
    assert len(store.records()) == 2


def test_updated_at_filled_when_missing(store: SqliteStateStore, make_record: MakeRecord) -> None:
    store.put_record(make_record(updated_at=""))
    (saved,) = store.records()
    assert saved.updated_at.endswith("Z") and saved.updated_at[:2] == "20"


def test_records_survive_reopen(env: EnvironmentInfo, make_record: MakeRecord) -> None:
    backend = SqliteStateBackend()
    first = backend.open(env, {})
    first.put_record(make_record())
    first.close()
    again = backend.open(env, {})
    try:
        assert again.records() == [make_record()]
        assert again.serial() == 1
    finally:
        again.close()


def test_serial_increments_on_every_record_change(
    store: SqliteStateStore, make_record: MakeRecord
) -> None:
    assert store.serial() == 0
    store.put_record(make_record())
    assert store.serial() == 1
    store.put_record(make_record(spec_hash="new"))
    assert store.serial() == 2
    store.delete_record("resource:postgres.default#web.db")
    assert store.serial() == 3
    store.delete_record("resource:never-existed")  # no change, no bump
    assert store.serial() == 3

    iid = store.begin_intent(Intent("deployment:web", "deploy", {}, "run-1"))
    assert store.serial() == 3  # an intent alone changes no record
    store.complete_intent(iid, record=make_record("deployment:web"))
    assert store.serial() == 4
    iid = store.begin_intent(Intent("deployment:web", "destroy", {}, "run-1"))
    store.complete_intent(iid, delete_uid="deployment:web")
    assert store.serial() == 5
    failed = store.begin_intent(Intent("deployment:web", "deploy", {}, "run-1"))
    store.complete_intent(failed)  # failed side effect: closed, nothing written
    assert store.serial() == 5
    assert store.records() == []


def test_intents_pending_until_completed(store: SqliteStateStore, make_record: MakeRecord) -> None:
    a = store.begin_intent(
        Intent("resource:a", "create", {"provider": "postgres", "params": {"n": 1}}, "run-1")
    )
    b = store.begin_intent(Intent("resource:b", "delete", {"provider": "redis"}, "run-1"))
    assert a != b
    pending = store.pending_intents()
    assert [(i.id, i.node, i.action, i.run_id) for i in pending] == [
        (a, "resource:a", "create", "run-1"),
        (b, "resource:b", "delete", "run-1"),
    ]
    assert pending[0].spec == {"provider": "postgres", "params": {"n": 1}}
    assert pending[0].started_at

    store.complete_intent(a, record=make_record("resource:a"))
    assert [i.id for i in store.pending_intents()] == [b]
    with pytest.raises(StateError, match=f"intent {a} is not pending"):
        store.complete_intent(a)


def test_complete_intent_is_atomic(store: SqliteStateStore, make_record: MakeRecord) -> None:
    """If writing the record fails, the intent stays pending and nothing else changes."""
    iid = store.begin_intent(Intent("resource:a", "create", {}, "run-1"))
    unsealed = make_record("resource:a", outputs={"password": Secret("hunter2-canary")})
    with pytest.raises(StateError, match="unsealed Secret"):
        store.complete_intent(iid, record=unsealed)
    assert [i.id for i in store.pending_intents()] == [iid]
    assert store.records() == []
    assert store.serial() == 0

    # A constraint failure inside the transaction (a NULL kind) also rolls back the close.
    broken = make_record("resource:a", kind=None)
    with pytest.raises(StateError):
        store.complete_intent(iid, record=broken)
    assert [i.id for i in store.pending_intents()] == [iid]
    assert store.records() == []

    store.complete_intent(iid, record=make_record("resource:a"))
    assert store.pending_intents() == []
    assert [r.uid for r in store.records()] == ["resource:a"]


def test_generated_values(store: SqliteStateStore) -> None:
    assert store.get_generated("resource:a", "password") is None
    store.put_generated("resource:a", "password", "tok1")
    store.put_generated("resource:a", "user", "tok2")
    store.put_generated("resource:b", "password", "tok3")
    assert store.get_generated("resource:a", "password") == "tok1"
    store.put_generated("resource:a", "password", "tok4")
    assert store.get_generated("resource:a", "password") == "tok4"
    store.forget_generated("resource:a")
    assert store.get_generated("resource:a", "password") is None
    assert store.get_generated("resource:a", "user") is None
    assert store.get_generated("resource:b", "password") == "tok3"


def test_history_most_recent_first(store: SqliteStateStore) -> None:
    first = store.add_history({"operation": "apply", "status": "running"})
    second = store.add_history({"operation": "destroy", "status": "running"})
    assert second > first
    store.update_history(first, {"operation": "apply", "status": "succeeded", "id": 999})
    entries = store.history()
    assert entries == [
        {"operation": "destroy", "status": "running", "id": second},
        {"operation": "apply", "status": "succeeded", "id": first},
    ]
    assert store.history(limit=1) == entries[:1]
    with pytest.raises(NotFoundError):
        store.update_history(12345, {})


def test_release_numbering_per_workload(store: SqliteStateStore) -> None:
    assert store.add_release("web", {"image": "web:1"}) == 1
    assert store.add_release("web", {"image": "web:2"}) == 2
    assert store.add_release("api", {"image": "api:1"}) == 1
    assert store.add_release("web", {"image": "web:3", "number": 77}) == 3
    assert store.releases("web") == [
        {"image": "web:1", "number": 1},
        {"image": "web:2", "number": 2},
        {"image": "web:3", "number": 3},
    ]
    assert store.releases("api") == [{"image": "api:1", "number": 1}]
    assert store.releases("nope") == []


def test_closed_store_refuses(env: EnvironmentInfo) -> None:
    opened = SqliteStateBackend().open(env, {})
    opened.close()
    with pytest.raises(StateError, match="closed"):
        opened.records()


def test_not_a_database_is_a_state_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite at all, just some text " * 200)
    with pytest.raises(StateError, match=str(path)):
        SqliteStateStore(path)


def test_sealed_secret_outputs_never_plaintext_on_disk(
    store: SqliteStateStore, env: EnvironmentInfo, make_record: MakeRecord
) -> None:
    canary = "canary-9f8e7d6c5b4a-plaintext"
    cipher = StateCipher(generate_key())
    outputs = cipher.seal({"host": "db", "password": Secret(canary), "dsn": [Secret(canary)]})
    iid = store.begin_intent(
        Intent("resource:a", "create", cipher.seal({"params": {"pw": Secret(canary)}}), "r")
    )
    store.complete_intent(iid, record=make_record("resource:a", outputs=outputs))
    store.put_generated("resource:a", "password", cipher.encrypt(canary))
    store.add_history({"outputs": outputs})
    store.add_release("web", {"env": outputs})

    (saved,) = store.records()
    assert cipher.unseal(saved.outputs)["password"].reveal() == canary

    files = [p for p in env.state_dir.iterdir() if p.is_file()]
    assert any(p.name.endswith("-wal") for p in files)
    for path in files:
        assert canary.encode() not in path.read_bytes(), path
    store.close()
    for path in env.state_dir.iterdir():  # after the checkpoint into the main file too
        assert canary.encode() not in path.read_bytes(), path


def test_threads_writing_concurrently_lose_no_update(
    store: SqliteStateStore, make_record: MakeRecord
) -> None:
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        try:
            for i in range(50):
                uid = f"resource:t{t}#{i}"
                iid = store.begin_intent(Intent(uid, "create", {}, f"run-{t}"))
                store.complete_intent(iid, record=make_record(uid))
                store.add_release(f"w{i % 3}", {"t": t, "i": i})
                store.records()  # readers interleave with writers
        except BaseException as exc:  # report in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.records()) == 400
    # Group commit moves the serial once per transaction: at least once, at most per write.
    assert 1 <= store.serial() <= 400
    assert store.pending_intents() == []
    numbers = [r["number"] for w in ("w0", "w1", "w2") for r in store.releases(w)]
    assert sorted(numbers) == sorted(
        [n for w in range(3) for n in range(1, len(store.releases(f"w{w}")) + 1)]
    )
    assert len(numbers) == 400


def test_records_reads_ten_thousand_rows(store: SqliteStateStore, make_record: MakeRecord) -> None:
    for i in range(10_000):
        store.put_record(make_record(f"resource:x#{i:05d}"))
    rows = store.records()
    assert len(rows) == 10_000
    assert rows[0].uid == "resource:x#00000" and rows[-1].uid == "resource:x#09999"
    assert isinstance(rows[123], ResourceRecord) and rows[123].outputs["port"] == 5432


def test_processes_writing_at_once_lose_no_update(store: SqliteStateStore) -> None:
    code = (
        "import sys\n"
        "from podium.platform.contract import Intent, LockInfo, ResourceRecord\n"
        "from podium.state import SqliteStateStore\n"
        "s = SqliteStateStore(sys.argv[1])\n"
        "for i in range(100):\n"
        "    uid = f'resource:{sys.argv[2]}#{i}'\n"
        "    iid = s.begin_intent(Intent(uid, 'create', {}, sys.argv[2]))\n"
        "    rec = ResourceRecord(uid, 'resource', 'p', 'pl', {}, 'h')\n"
        "    s.complete_intent(iid, record=rec)\n"
        "    s.add_release('shared', {'by': sys.argv[2]})\n"
        "s.close()\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(store.path), f"p{n}"]) for n in range(3)
    ]
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0, 0]
    assert len(store.records()) == 300
    assert store.serial() == 300
    assert [r["number"] for r in store.releases("shared")] == list(range(1, 301))


def test_old_completed_intents_pruned_when_a_run_starts(store: SqliteStateStore) -> None:
    old = store.begin_intent(Intent("resource:a", "create", {}, "run-0"))
    store.complete_intent(old)
    recent = store.begin_intent(Intent("resource:b", "create", {}, "run-1"))
    store.complete_intent(recent)
    stale_pending = store.begin_intent(Intent("resource:c", "create", {}, "run-0"))
    with sqlite3.connect(store.path) as raw:
        raw.execute(
            "UPDATE intents SET completed_at = '2001-01-01T00:00:00.000000Z' WHERE id = ?", (old,)
        )
        raw.execute(
            "UPDATE intents SET started_at = '2001-01-01T00:00:00.000000Z' WHERE id = ?",
            (stale_pending,),
        )
    now = time.time()
    store.acquire_lock(LockInfo("a@h", "h", os.getpid(), "run-2", now, now + 60))
    with sqlite3.connect(store.path) as raw:
        ids = [i for (i,) in raw.execute("SELECT id FROM intents ORDER BY id")]
    assert ids == [recent, stale_pending]  # pending intents are never pruned


def test_a_failing_write_in_a_group_commit_fails_alone(
    store: SqliteStateStore, make_record: MakeRecord
) -> None:
    """Writes committed together: one that raises is retried alone and fails alone."""
    from podium.errors import StateError

    good = store.begin_intent(Intent("resource:a#1", "create", {}, "run"))
    results: dict[str, BaseException | None] = {}
    barrier = threading.Barrier(6)

    def complete(name: str, intent_id: int) -> None:
        barrier.wait()
        try:
            store.complete_intent(intent_id, record=make_record(name))
            results[name] = None
        except BaseException as exc:
            results[name] = exc

    intents = [store.begin_intent(Intent(f"resource:b#{i}", "create", {}, "run")) for i in range(4)]
    threads = [
        threading.Thread(target=complete, args=(f"resource:b#{i}", iid))
        for i, iid in enumerate(intents)
    ]
    threads.append(threading.Thread(target=complete, args=("resource:a#1", good)))
    threads.append(
        threading.Thread(target=complete, args=("resource:bogus", 999_999))
    )  # not pending
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert isinstance(results["resource:bogus"], StateError)
    assert (
        all(results[f"resource:b#{i}"] is None for i in range(4))
        and results["resource:a#1"] is None
    )
    assert {r.uid for r in store.records()} == {
        "resource:a#1",
        *(f"resource:b#{i}" for i in range(4)),
    }
    assert store.pending_intents() == []
