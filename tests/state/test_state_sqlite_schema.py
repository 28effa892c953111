"""Schema versions: new databases, migration of older ones, refusal of newer ones."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from podium.errors import StateError
from podium.platform.contract import ResourceRecord
from podium.state import SqliteStateStore
from podium.state.schema import MIGRATIONS, SCHEMA_VERSION


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        return int(raw.execute("PRAGMA user_version").fetchone()[0])


def indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as raw:
        rows = raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {name for (name,) in rows}


def test_new_database_is_at_current_version(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStateStore(path).close()
    assert user_version(path) == SCHEMA_VERSION == len(MIGRATIONS)
    assert "intents_pending" in indexes(path)


def test_empty_v0_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode = WAL")  # writes the header: a database, version 0, no tables
    raw.close()
    assert user_version(path) == 0
    store = SqliteStateStore(path)
    try:
        assert store.serial() == 0 and store.records() == []
    finally:
        store.close()
    assert user_version(path) == SCHEMA_VERSION


def test_older_database_is_migrated_keeping_data(tmp_path: Path) -> None:
    """A version-1 database written by hand, as an older Podium left it, with data in it."""
    path = tmp_path / "state.db"
    raw = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](raw)
    raw.execute("PRAGMA user_version = 1")
    raw.execute(
        "INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            "deployment:web",
            "deployment",
            "local",
            "podium-local",
            None,
            '{"image": "web:1"}',
            "h1",
            "{}",
            "[]",
            "2024-01-01T00:00:00.000000Z",
        ),
    )
    raw.execute("UPDATE meta SET value = 7 WHERE key = 'serial'")
    raw.execute(
        "INSERT INTO intents (node, action, spec, run_id, started_at) VALUES (?,?,?,?,?)",
        ("deployment:web", "deploy", "{}", "run-old", "2024-01-01T00:00:00.000000Z"),
    )
    raw.close()
    assert "intents_pending" not in indexes(path)

    store = SqliteStateStore(path)
    try:
        assert store.serial() == 7
        assert store.records() == [
            ResourceRecord(
                uid="deployment:web",
                kind="deployment",
                provider="local",
                plugin="podium-local",
                spec={"image": "web:1"},
                spec_hash="h1",
                updated_at="2024-01-01T00:00:00.000000Z",
            )
        ]
        assert [i.run_id for i in store.pending_intents()] == ["run-old"]
    finally:
        store.close()
    assert user_version(path) == SCHEMA_VERSION
    assert "intents_pending" in indexes(path)


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SqliteStateStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    with pytest.raises(StateError) as info:
        SqliteStateStore(path)
    message = str(info.value)
    assert "newer Podium" in message and str(path) in message
    assert f"version {SCHEMA_VERSION + 3}" in message
    assert "upgrade Podium" in message
    assert user_version(path) == SCHEMA_VERSION + 3  # left untouched


def test_processes_opening_a_new_database_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    code = (
        "import sys\n"
        "from podium.state import SqliteStateStore\n"
        "s = SqliteStateStore(sys.argv[1]); print(s.serial()); s.close()\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0]
    assert outputs == ["0"] * 4
    assert user_version(path) == SCHEMA_VERSION
