"""The S3 state backend against moto: records, journal, lock races, history and releases."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import (
    ConfigError,
    EnvironmentInfo,
    Intent,
    LockedError,
    LockInfo,
    ResourceRecord,
    StateError,
    lease_identity,
)
from podium_aws.clients import AwsClients
from podium_aws.settings import Settings
from podium_aws.state import S3StateBackend, S3StateStore

BUCKET = "team-state"


@pytest.fixture
def store(settings: Settings, clients: AwsClients, env: EnvironmentInfo) -> S3StateStore:
    opened = S3StateBackend(settings, clients).open(env, {"bucket": BUCKET, "create_bucket": True})
    assert isinstance(opened, S3StateStore)
    return opened


def record(uid: str, owner: str | None = None, **outputs: Any) -> ResourceRecord:
    return ResourceRecord(
        uid=uid,
        kind="resource",
        provider="aws-s3",
        plugin="aws",
        spec={"a": 1},
        spec_hash="h",
        outputs=dict(outputs),
        physical_name=uid.replace(":", "-"),
        owner=owner,
    )


def lock(run_id: str, ttl: float = 600, host: str | None = None, pid: int = 0) -> LockInfo:
    now = time.time()
    me = lease_identity()
    return LockInfo(
        owner="alice@laptop",
        host=host or socket.gethostname(),
        pid=pid or os.getpid(),
        run_id=run_id,
        acquired_at=now,
        expires_at=now + ttl,
        boot_id=me.boot_id,
        pid_namespace=me.pid_namespace,
    )


def test_open_refuses_a_missing_bucket_unless_asked_to_create_it(
    settings: Settings, clients: AwsClients, env: EnvironmentInfo, boto: Any
) -> None:
    backend = S3StateBackend(settings, clients)
    with pytest.raises(ConfigError) as failure:
        backend.open(env, {"bucket": "nope-bucket"})
    assert failure.value.field == "state.options.bucket"
    with pytest.raises(ConfigError, match="bucket"):
        backend.open(env, {"bukket": "x"})
    backend.open(env, {"bucket": "made-bucket", "create_bucket": True})
    assert boto("s3").get_bucket_versioning(Bucket="made-bucket")["Status"] == "Enabled"


def test_state_of_a_newer_format_is_refused_and_older_is_read(
    store: S3StateStore, boto: Any
) -> None:
    from podium_aws.state import STATE_FORMAT

    key = f"{store.prefix}/state.json"
    old = {"serial": 1, "records": {"deployment:web": record("deployment:web").to_dict()}}
    del old["records"]["deployment:web"]["owner"]  # as podium-aws wrote it before owners
    old.update(intents={}, next_intent=0, generated={})
    boto("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(old).encode())
    [web] = store.records()
    assert web.owner is None
    store.put_record(record("deployment:web", owner="payments"))
    stored = json.loads(boto("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert stored["format"] == STATE_FORMAT
    assert stored["records"]["deployment:web"]["owner"] == "payments"
    stored["format"] = STATE_FORMAT + 1
    boto("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(stored).encode())
    with pytest.raises(StateError, match="newer podium-aws"):
        store.records()


def test_records_change_the_serial_and_survive_a_new_store(
    store: S3StateStore, settings: Settings, env: EnvironmentInfo, boto: Any
) -> None:
    assert store.serial() == 0 and store.records() == []
    store.put_record(record("resource:b", bucket="b", secret={"$secret": "tok"}))
    store.put_record(record("resource:a"))
    assert [r.uid for r in store.records()] == ["resource:a", "resource:b"]
    assert store.serial() == 2
    store.delete_record("resource:a")
    store.delete_record("resource:missing")
    assert store.serial() == 3

    again = S3StateBackend(settings, AwsClients(settings)).open(env, {"bucket": BUCKET})
    assert [r.to_dict() for r in again.records()] == [r.to_dict() for r in store.records()]
    raw = boto("s3").get_object(Bucket=BUCKET, Key="podium/shop/prod/state.json")["Body"].read()
    assert json.loads(raw)["records"]["resource:b"]["outputs"]["secret"] == {"$secret": "tok"}


def test_intents_stay_pending_until_completed_with_their_record(store: S3StateStore) -> None:
    first = store.begin_intent(
        Intent(node="resource:x", action="create", spec={"p": 1}, run_id="r")
    )
    second = store.begin_intent(Intent(node="resource:y", action="delete", spec={}, run_id="r"))
    store.put_record(record("resource:y"))
    pending = store.pending_intents()
    assert [(i.id, i.node, i.action) for i in pending] == [
        (first, "resource:x", "create"),
        (second, "resource:y", "delete"),
    ]
    assert pending[0].spec == {"p": 1} and pending[0].started_at
    serial = store.serial()
    store.complete_intent(first, record=record("resource:x"))
    store.complete_intent(second, delete_uid="resource:y")
    assert store.pending_intents() == []
    assert [r.uid for r in store.records()] == ["resource:x"]
    assert store.serial() == serial + 2


def test_generated_values_by_node(store: S3StateStore) -> None:
    assert store.get_generated("n", "password") is None
    store.put_generated("n", "password", "sealed-1")
    store.put_generated("m", "password", "sealed-2")
    assert store.get_generated("n", "password") == "sealed-1"
    store.forget_generated("n")
    assert store.get_generated("n", "password") is None
    assert store.get_generated("m", "password") == "sealed-2"


def test_concurrent_writers_never_lose_each_others_changes(store: S3StateStore) -> None:
    def write(n: int) -> None:
        for i in range(5):
            store.put_record(record(f"resource:{n}-{i}"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.records()) == 30
    assert store.serial() == 30


def test_lock_is_exclusive_renewable_and_released(store: S3StateStore) -> None:
    assert store.acquire_lock(lock("run-1")) is None
    with pytest.raises(LockedError, match="alice@laptop") as failure:
        store.acquire_lock(lock("run-2"))
    assert "run-1" in str(failure.value)
    assert store.acquire_lock(lock("run-1")) is None  # re-entrant for the same run
    store.renew_lock("run-1", time.time() + 1000)
    info = store.lock_info()
    assert info is not None and info.run_id == "run-1" and info.expires_at > time.time() + 900
    with pytest.raises(StateError, match="lost its lock"):
        store.renew_lock("run-2", time.time() + 10)
    store.release_lock("run-2")  # not the holder: nothing happens
    assert store.lock_info() is not None
    store.release_lock("run-1")
    assert store.lock_info() is None
    assert store.acquire_lock(lock("run-2")) is None


def test_expired_or_dead_leases_are_taken_over_and_reported(store: S3StateStore) -> None:
    store.acquire_lock(lock("old", ttl=-1, host="elsewhere"))
    taken = store.acquire_lock(lock("new"))
    assert taken is not None and taken.run_id == "old"
    store.force_unlock()

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    store.acquire_lock(lock("crashed", pid=int(dead.stdout)))
    taken = store.acquire_lock(lock("next"))
    assert taken is not None and taken.run_id == "crashed"
    forced = store.force_unlock()
    assert forced is not None and forced.run_id == "next"
    assert store.force_unlock() is None


def test_two_processes_race_for_the_lock_and_exactly_one_wins(
    store: S3StateStore, aws: str, tmp_path: Path
) -> None:
    contender = Path(__file__).with_name("lock_contender.py")
    for round_number in range(3):
        store.force_unlock()
        go = tmp_path / f"go-{round_number}"
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(contender),
                    aws,
                    BUCKET,
                    str(tmp_path),
                    str(go),
                    f"run-{round_number}-{n}",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(2)
        ]
        time.sleep(1.0)  # let both connect; the race starts when the file appears
        go.touch()
        lines = [p.stdout.readline().strip() for p in procs if p.stdout is not None]
        holder = store.lock_info()
        Path(f"{go}.done").touch()
        outputs = [p.communicate(timeout=60) for p in procs]
        assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
        assert sorted(line.split(":")[0] for line in lines) == ["acquired", "locked"]
        assert holder is not None and holder.run_id.startswith(f"run-{round_number}-")
        winner = procs[[line.split(":")[0] for line in lines].index("acquired")]
        assert holder.pid == winner.pid


def test_history_is_newest_first_and_releases_count_per_workload(store: S3StateStore) -> None:
    first = store.add_history({"operation": "apply", "status": "running"})
    second = store.add_history({"operation": "destroy", "status": "running"})
    store.update_history(first, {"operation": "apply", "status": "succeeded"})
    assert (first, second) == (1, 2)
    entries = store.history()
    assert [(e["id"], e["status"]) for e in entries] == [(2, "running"), (1, "succeeded")]
    assert len(store.history(limit=1)) == 1
    with pytest.raises(StateError):
        store.update_history(99, {})

    assert store.add_release("web", {"note": "a"}) == 1
    assert store.add_release("web", {"note": "b"}) == 2
    assert store.add_release("api", {"note": "c"}) == 1
    assert [(r["number"], r["note"]) for r in store.releases("web")] == [(1, "a"), (2, "b")]
    assert store.releases("nothing") == []


def test_concurrent_appends_get_distinct_numbers(store: S3StateStore) -> None:
    numbers: list[int] = []

    def add() -> None:
        for _ in range(4):
            numbers.append(store.add_release("web", {}))

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(numbers) == list(range(1, 17))
