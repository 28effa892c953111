"""The SQLite backend is the shared SQL state layer plus a dialect (issue 12, item 7).

Bookkeeping (pool, transactions, serial bumps, lease, journal, history, releases)
is written once in podium.state.sql; a backend that re-implemented any of it
would drift from the others, which is what this guards against.
"""

from __future__ import annotations

import inspect
import sqlite3
from pathlib import Path

import pytest

from podium.errors import StateError
from podium.platform.contract import Intent, StateStore, TransactionalStateStore
from podium.state import SqliteStateStore
from podium.state.sql import TABLES, Scope, SqlDialect, SqlStateStore
from podium.state.sqlite import SqliteDialect

#: Every method of the state-store contract.
CONTRACT = sorted(
    name
    for cls in (StateStore, TransactionalStateStore)
    for name, member in vars(cls).items()
    if inspect.isfunction(member) and not name.startswith("_")
)


def test_the_sqlite_store_is_the_shared_layer() -> None:
    assert issubclass(SqliteStateStore, SqlStateStore)
    own = [name for name in CONTRACT if name in vars(SqliteStateStore)]
    assert own == [], f"SqliteStateStore re-implements {own}: put it in podium.state.sql"


def test_the_sqlite_dialect_implements_the_whole_interface() -> None:
    missing = SqlDialect.__abstractmethods__ - set(vars(SqliteDialect))
    assert not missing and not SqliteDialect.__abstractmethods__


def test_each_sqlite_table_is_one_database_per_environment(tmp_path: Path) -> None:
    dialect = SqliteDialect(
        tmp_path / "state.db", where="p/dev", synchronous="normal", busy_timeout=1.0
    )
    scoped = {name: dialect.scope(name) for name in TABLES if dialect.scope(name) != Scope()}
    # Only the single-row tables are scoped: the lease row, the audit chain's head, the
    # serial and the epoch rows.
    assert scoped == {
        "lock": Scope(("id",), (1,)),
        "audit_head": Scope(("id",), (1,)),
        "serial": Scope(("key",), ("serial",)),
        "epoch": Scope(("key",), ("epoch",)),
    }


def test_driver_errors_are_worded_by_the_dialect(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db")
    try:
        with sqlite3.connect(tmp_path / "state.db") as raw:
            raw.execute("DROP TABLE releases")
        with pytest.raises(StateError, match=r"state database .*state\.db: no such table"):
            store.releases("web")
        with pytest.raises(StateError, match=r"no such table"):
            store.add_release("web", {})
    finally:
        store.close()


def test_a_closed_store_refuses_journal_writes(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "state.db", where="shop/dev")
    store.close()
    with pytest.raises(StateError, match="the state store for shop/dev is closed"):
        store.begin_intent(Intent("resource:a", "create", {}, "run-1"))
