"""The engine's bookkeeping lives beside a record's spec, never inside it.

Podium 0.1 kept ``_digest``, ``_failed``, ``_rolled_back_to`` and ``_attributes`` inside
``record.spec``. State written that way still loads: a SQLite database is migrated
(the keys move to the ``bookkeeping`` column), and a record read from JSON (the S3
backend, a plugin backend) is lifted on load.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from podium.platform.contract import ResourceRecord
from podium.state import SqliteStateStore
from podium.state.schema import MIGRATIONS, SCHEMA_VERSION

LEGACY_DEPLOYMENT_SPEC = {
    "digest": "d-score",
    "workload": "web",
    "_digest": "d-rendered",
    "_failed": 3,
    "_attributes": {"containers.main.image": "web:2"},
}
LEGACY_RESOURCE_SPEC = {
    "type": "volume",
    "params": {"_tier": "gold"},  # a user param: stays where it is
    "_digest": "d-params",
    "_rolled_back_to": None,
}


def _v3_database(path: Path) -> None:
    """A database as the previous Podium left it (schema 3), bookkeeping inside spec."""
    raw = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:3]:
        step(raw)
    raw.execute("PRAGMA user_version = 3")
    for uid, kind, spec in (
        ("deployment:web", "deployment", LEGACY_DEPLOYMENT_SPEC),
        ("resource:volume.default#web.data", "resource", LEGACY_RESOURCE_SPEC),
    ):
        raw.execute(
            "INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (uid, kind, "fake", "fake", None, json.dumps(spec), "h", "{}", "[]", "t", "team"),
        )
    raw.close()


def test_sqlite_state_of_the_previous_version_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _v3_database(path)

    store = SqliteStateStore(path)
    try:
        records = {r.uid: r for r in store.records()}
    finally:
        store.close()
    web = records["deployment:web"]
    assert web.spec == {"digest": "d-score", "workload": "web"}
    assert web.digest == "d-rendered"
    assert web.failed_release == 3
    assert web.rolled_back_to is None
    assert web.attributes == {"containers.main.image": "web:2"}
    data = records["resource:volume.default#web.data"]
    assert data.spec == {"type": "volume", "params": {"_tier": "gold"}}
    assert data.digest == "d-params" and data.owner == "team"

    # Migrated on disk, not only on read: the spec column holds the spec alone.
    with sqlite3.connect(path) as raw:
        assert int(raw.execute("PRAGMA user_version").fetchone()[0]) == SCHEMA_VERSION
        rows = dict(raw.execute("SELECT uid, spec FROM records").fetchall())
        kept = dict(raw.execute("SELECT uid, bookkeeping FROM records").fetchall())
    assert "_digest" not in rows["deployment:web"]
    assert json.loads(kept["deployment:web"])["failed_release"] == 3


def test_bookkeeping_round_trips_beside_the_spec(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    try:
        record = ResourceRecord(
            uid="deployment:web",
            kind="deployment",
            provider="fake",
            plugin="fake",
            spec={"digest": "d", "_tier": "a user's key"},
            spec_hash="h",
            updated_at="2026-01-01T00:00:00.000000Z",
            digest="rendered",
            rolled_back_to=1,
            attributes={"containers.main.image": "web:1"},
        )
        store.put_record(record)
        (read,) = store.records()
    finally:
        store.close()
    assert read == record
    assert read.spec == {"digest": "d", "_tier": "a user's key"}


def test_a_record_dict_of_the_previous_version_is_lifted() -> None:
    """What a JSON backend (S3, a plugin's) hands back from state written before."""
    old = {
        "uid": "deployment:web",
        "kind": "deployment",
        "provider": "fake",
        "plugin": "fake",
        "spec": dict(LEGACY_DEPLOYMENT_SPEC),
        "spec_hash": "h",
    }
    record = ResourceRecord.from_dict(old)
    assert record.spec == {"digest": "d-score", "workload": "web"}
    assert (record.digest, record.failed_release) == ("d-rendered", 3)
    again = ResourceRecord.from_dict(record.to_dict())
    assert again == record
