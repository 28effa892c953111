"""Platform-wide server records: API tokens, plans, runs and approvals.

Environment state holds what an environment *is*; these records belong to no one
environment, so they live in a database of their own with their own ordered
migrations (the ``serve`` schema, independent of the state schema's):

* by default SQLite next to the environments' state (``<state_dir>/serve.db``): WAL
  and a busy timeout let the ``podium tokens`` commands and the server share it;
* with ``[serve] database`` a ``postgresql://`` URI (psycopg, as podium-postgres
  uses), in the schema ``[serve] database_schema``: several servers share tokens,
  plans, runs and approvals.

Each method is one transaction. Statements are written once with ``?`` parameters.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.errors import StateError

if TYPE_CHECKING:
    from podium.api import Platform

Migration = Callable[[Any], None]  # a DB-API connection in a transaction


def _serve_v1_tokens_plans_runs(db: Any) -> None:
    db.execute(
        """CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            digest TEXT NOT NULL,
            team TEXT NOT NULL,
            role TEXT NOT NULL,
            permissions TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            revoked_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE plans (
            id TEXT PRIMARY KEY,
            environment TEXT NOT NULL,
            team TEXT NOT NULL,
            who TEXT NOT NULL,
            digest TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL,
            run_id TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            environment TEXT NOT NULL,
            operation TEXT NOT NULL,
            plan_id TEXT,
            team TEXT NOT NULL,
            who TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            finished_at TEXT,
            engine_run_id TEXT,
            history_id INTEGER,
            detail TEXT NOT NULL DEFAULT '{}',
            server TEXT NOT NULL DEFAULT ''
        )"""
    )
    db.execute("CREATE INDEX runs_environment ON runs (environment, created_at)")
    db.execute(
        """CREATE TABLE approvals (
            plan_id TEXT NOT NULL,
            who TEXT NOT NULL,
            role TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (plan_id, who)
        )"""
    )


def _serve_v2_console_sessions(db: Any) -> None:
    # The web console's sign-ins: the cookie's digest, who, and the form (CSRF) token.
    db.execute(
        """CREATE TABLE console_sessions (
            digest TEXT PRIMARY KEY,
            subject TEXT NOT NULL,
            team TEXT NOT NULL,
            role TEXT NOT NULL,
            permissions TEXT NOT NULL,
            csrf TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )"""
    )


def _serve_v3_server_heartbeats(db: Any) -> None:
    # Live servers (podium.serve.liveness): the identity runs record in runs.server, and
    # the last heartbeat in seconds since the epoch by the database's own clock.
    db.execute(
        """CREATE TABLE servers (
            id TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            beat_at DOUBLE PRECISION NOT NULL
        )"""
    )
    db.execute("CREATE INDEX runs_server ON runs (server, status)")


#: Ordered, append only: index ``i`` migrates the serve schema from version ``i`` to ``i + 1``.
SERVE_MIGRATIONS: tuple[Migration, ...] = (
    _serve_v1_tokens_plans_runs,
    _serve_v2_console_sessions,
    _serve_v3_server_heartbeats,
)
SERVE_SCHEMA_VERSION = len(SERVE_MIGRATIONS)
#: run statuses after which nothing changes
FINISHED = frozenset({"succeeded", "failed", "cancelled", "blocked", "error", "aborted"})


def now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class TokenRow:
    id: str
    digest: str
    team: str
    role: str
    permissions: list[str]
    created_by: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None

    def public(self) -> dict[str, Any]:
        """Everything but the digest (``tokens list``)."""
        return {k: v for k, v in self.__dict__.items() if k != "digest"}


@dataclass
class RunRow:
    id: str
    environment: str
    operation: str
    plan_id: str | None
    team: str
    who: str
    status: str
    created_at: str
    finished_at: str | None = None
    engine_run_id: str | None = None
    history_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    #: the server process running it: host|boot id|pid namespace|pid
    server: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "server"}


class ServerStore:
    """The server's records in SQLite at ``path`` (created, migrated, owner-only), or in
    PostgreSQL at ``url`` (schema ``schema``)."""

    def __init__(
        self, path: Path | None = None, *, url: str | None = None, schema: str = "podium_serve"
    ) -> None:
        self.path = path
        self.where = str(path) if path is not None else _masked(url or "")
        self._lock = threading.Lock()
        self._postgres = url is not None
        try:
            if url is not None:
                self._db: Any = _connect_postgres(url, schema)
            else:
                assert path is not None
                from podium.security.private_files import make_private_dir

                make_private_dir(path.parent)
                db = sqlite3.connect(
                    path, timeout=30.0, isolation_level=None, check_same_thread=False
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                path.chmod(0o600)
                self._db = db
            self._migrate()
        except StateError:
            raise
        except Exception as exc:  # sqlite3.Error, psycopg.Error: say where, not the password
            raise StateError(
                f"cannot open the server database {self.where}: {type(exc).__name__}: "
                + str(exc).replace(url or "\0", _masked(url or ""))
            ) from None

    @property
    def local(self) -> bool:
        """Whether the records are in a local file (a read costs no network round trip)."""
        return not self._postgres

    def _sql(self, statement: str) -> str:
        if not self._postgres:
            return statement.replace("{clock}", _SQLITE_CLOCK)
        statement = statement.replace("{clock}", _POSTGRES_CLOCK)
        statement = statement.replace("INSERT OR IGNORE INTO", "INSERT INTO")
        if "ON CONFLICT" not in statement and statement.startswith("INSERT INTO approvals"):
            statement += " ON CONFLICT DO NOTHING"
        return statement.replace("?", "%s")

    def _run(self, db: Any, statement: str, args: tuple[Any, ...] = ()) -> Any:
        return db.execute(self._sql(statement), args)

    def _migrate(self) -> None:
        with self._tx() as db:
            if self._postgres:
                # One migrating server at a time; the others find the work done.
                db.execute("SELECT pg_advisory_xact_lock(7270019)")
                db.execute("CREATE TABLE IF NOT EXISTS serve_schema (version INTEGER NOT NULL)")
                found = db.execute("SELECT version FROM serve_schema").fetchone()
                version = int(found[0]) if found else 0
            else:
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SERVE_SCHEMA_VERSION:
                raise StateError(
                    f"server database {self.where} has serve schema version {version}, "
                    f"newer than this Podium's {SERVE_SCHEMA_VERSION}",
                    hint="upgrade Podium",
                )
            for step in SERVE_MIGRATIONS[version:]:
                step(db)
            if self._postgres:
                db.execute("DELETE FROM serve_schema")
                db.execute("INSERT INTO serve_schema VALUES (%s)", (SERVE_SCHEMA_VERSION,))
            else:
                db.execute(f"PRAGMA user_version = {SERVE_SCHEMA_VERSION}")

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            self._db.execute("BEGIN" if self._postgres else "BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[Any]:
        """One statement that only reads: no transaction around it (the connections are
        in autocommit), so every request's token check is one round trip to PostgreSQL
        instead of three and never takes SQLite's write lock as BEGIN IMMEDIATE does."""
        with self._lock:
            yield self._db

    def _write_one(self, statement: str, args: tuple[Any, ...]) -> None:
        """One statement that changes: in autocommit it is a transaction of its own (as
        atomic and durable as any commit once this returns), without the BEGIN and
        COMMIT statements around it (two round trips fewer on PostgreSQL)."""
        with self._lock:
            self._run(self._db, statement, args)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ tokens
    def add_token(self, row: TokenRow) -> None:
        with self._tx() as db:
            self._run(
                db,
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.id,
                    row.digest,
                    row.team,
                    row.role,
                    json.dumps(row.permissions),
                    row.created_by,
                    row.created_at,
                    row.expires_at,
                    row.revoked_at,
                ),
            )

    def token(self, token_id: str) -> TokenRow | None:
        with self._read() as db:
            found = self._run(db, "SELECT * FROM tokens WHERE id = ?", (token_id,)).fetchone()
        return _token(found) if found else None

    def tokens(self) -> list[TokenRow]:
        with self._tx() as db:
            rows = self._run(db, "SELECT * FROM tokens ORDER BY created_at").fetchall()
        return [_token(r) for r in rows]

    def revoke_token(self, token_id: str) -> bool:
        """Revoke ``token_id``; False when no such live token exists."""
        with self._tx() as db:
            done = self._run(
                db,
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now(), token_id),
            )
            return bool(done.rowcount == 1)

    # ------------------------------------------------------------------- plans
    def add_plan(
        self, plan_id: str, environment: str, team: str, who: str, digest: str, data: str
    ) -> None:
        self._write_one(
            "INSERT INTO plans VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            (plan_id, environment, team, who, digest, data, now()),
        )

    def plan(self, plan_id: str) -> dict[str, Any] | None:
        with self._tx() as db:
            found = self._run(
                db,
                "SELECT id, environment, team, who, digest, data, created_at, run_id "
                "FROM plans WHERE id = ?",
                (plan_id,),
            ).fetchone()
        if found is None:
            return None
        keys = ("id", "environment", "team", "who", "digest", "data", "created_at", "run_id")
        return dict(zip(keys, found, strict=True))

    def claim_plan(self, plan_id: str, run: RunRow) -> str | None:
        """Record ``run`` as the one apply of ``plan_id``, atomically: returns ``None`` when
        claimed, else the id of the run that claimed it first (a plan applies once)."""
        with self._tx() as db:
            done = self._run(
                db, "UPDATE plans SET run_id = ? WHERE id = ? AND run_id IS NULL", (run.id, plan_id)
            )
            if done.rowcount != 1:
                found = self._run(
                    db, "SELECT run_id FROM plans WHERE id = ?", (plan_id,)
                ).fetchone()
                return str(found[0]) if found else ""
            self._run(db, *_insert_run(run))
            return None

    # ---------------------------------------------------------------- approvals
    def approve(self, plan_id: str, who: str, role: str) -> None:
        with self._tx() as db:
            self._run(
                db,
                "INSERT OR IGNORE INTO approvals VALUES (?, ?, ?, ?)",
                (plan_id, who, role, now()),
            )

    def approvals(self, plan_id: str) -> list[dict[str, str]]:
        with self._tx() as db:
            rows = self._run(
                db,
                "SELECT who, role, created_at FROM approvals WHERE plan_id = ? ORDER BY created_at",
                (plan_id,),
            ).fetchall()
        return [{"who": w, "role": r, "created_at": c} for w, r, c in rows]

    # ---------------------------------------------------------------- sessions
    def add_session(self, digest: str, who: dict[str, Any], csrf: str, expires_at: str) -> None:
        with self._tx() as db:
            self._run(db, "DELETE FROM console_sessions WHERE expires_at < ?", (now(),))
            self._run(
                db,
                "INSERT INTO console_sessions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    digest,
                    who["subject"],
                    who["team"],
                    who["role"],
                    json.dumps(who["permissions"]),
                    csrf,
                    expires_at,
                ),
            )

    def session(self, digest: str) -> dict[str, Any] | None:
        with self._read() as db:
            found = self._run(
                db,
                "SELECT subject, team, role, permissions, csrf FROM console_sessions "
                "WHERE digest = ? AND expires_at > ?",
                (digest, now()),
            ).fetchone()
        if found is None:
            return None
        subject, team, role, permissions, csrf = found
        return {
            "subject": subject,
            "team": team,
            "role": role,
            "permissions": json.loads(permissions),
            "csrf": csrf,
        }

    def end_session(self, digest: str) -> None:
        with self._tx() as db:
            self._run(db, "DELETE FROM console_sessions WHERE digest = ?", (digest,))

    # -------------------------------------------------------------------- runs
    def add_run(self, run: RunRow) -> None:
        with self._tx() as db:
            self._run(db, *_insert_run(run))

    def update_run(self, run: RunRow) -> None:
        with self._tx() as db:
            self._run(
                db,
                "UPDATE runs SET status = ?, finished_at = ?, engine_run_id = ?, history_id = ?, "
                "detail = ? WHERE id = ?",
                (
                    run.status,
                    run.finished_at,
                    run.engine_run_id,
                    run.history_id,
                    json.dumps(run.detail, default=str),
                    run.id,
                ),
            )

    def run(self, run_id: str) -> RunRow | None:
        with self._tx() as db:
            found = self._run(
                db, f"SELECT {_READ_RUN} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        return _run(found) if found else None

    def runs(self, environment: str | None = None, limit: int = 100) -> list[RunRow]:
        query = f"SELECT {_READ_RUN} FROM runs"
        args: tuple[Any, ...] = ()
        if environment is not None:
            query += " WHERE environment = ?"
            args = (environment,)
        with self._tx() as db:
            rows = self._run(
                db, query + " ORDER BY created_at DESC LIMIT ?", (*args, limit)
            ).fetchall()
        return [_run(r) for r in rows]

    def unfinished_runs(self) -> list[RunRow]:
        marks = ", ".join("?" for _ in FINISHED)
        with self._tx() as db:
            rows = self._run(
                db, f"SELECT {_READ_RUN} FROM runs WHERE status NOT IN ({marks})", tuple(FINISHED)
            ).fetchall()
        return [_run(r) for r in rows]

    # ------------------------------------------------------------------ servers
    def beat(self, server: str) -> bool:
        """Record a heartbeat of ``server`` now, by the database's clock; False when it had
        no record (it starts, or another server took it for dead and removed it)."""
        with self._tx() as db:
            done = self._run(db, "UPDATE servers SET beat_at = {clock} WHERE id = ?", (server,))
            if done.rowcount == 1:
                return True
            self._run(db, "INSERT INTO servers VALUES (?, ?, {clock})", (server, now()))
            return False

    def servers(self) -> dict[str, float]:
        """Each recorded server and the seconds since its last heartbeat (database clock)."""
        with self._read() as db:
            rows = self._run(db, "SELECT id, {clock} - beat_at FROM servers").fetchall()
        return {str(server): float(age) for server, age in rows}

    def retire_server(self, server: str, reason: str) -> int:
        """End ``server``: its unfinished runs become ``aborted`` with ``reason`` and its
        heartbeat record goes. Returns how many runs it aborted."""
        with self._tx() as db:
            return self._retire(db, server, reason)

    def retire_silent_servers(self, timeout: float, reason: str) -> dict[str, int]:
        """Retire every server whose last heartbeat is more than ``timeout`` seconds old
        (by the database's clock): returns each one's count of aborted runs."""
        with self._tx() as db:
            if self._postgres:
                # Replicas settling at once take turns; the later one finds nothing left.
                db.execute("SELECT pg_advisory_xact_lock(7270020)")
            silent = self._run(
                db, "SELECT id FROM servers WHERE beat_at < {clock} - ?", (timeout,)
            ).fetchall()
            return {str(s): self._retire(db, str(s), reason) for (s,) in silent}

    def _retire(self, db: Any, server: str, reason: str) -> int:
        marks = ", ".join("?" for _ in FINISHED)
        done = self._run(
            db,
            f"UPDATE runs SET status = 'aborted', finished_at = ?, detail = ? "
            f"WHERE server = ? AND status NOT IN ({marks})",
            (now(), json.dumps({"error": reason}), server, *FINISHED),
        )
        self._run(db, "DELETE FROM servers WHERE id = ?", (server,))
        return int(done.rowcount)


#: the database's clock in seconds since the epoch: the servers' own clocks never meet
_POSTGRES_CLOCK = "EXTRACT(EPOCH FROM clock_timestamp())::double precision"
#: SQLite's WAL file is shared only on one machine (it needs shared memory), so every
#: server of a SQLite store reads the same system clock
_SQLITE_CLOCK = "((julianday('now') - 2440587.5) * 86400.0)"

_RUN_COLUMNS = (
    "id, environment, operation, plan_id, team, who, status, created_at, finished_at, "
    "engine_run_id, history_id, detail"
)
_READ_RUN = f"{_RUN_COLUMNS}, server"


def _insert_run(run: RunRow) -> tuple[str, tuple[Any, ...]]:
    marks = ", ".join("?" for _ in range(13))
    return (
        f"INSERT INTO runs ({_RUN_COLUMNS}, server) VALUES ({marks})",
        (
            run.id,
            run.environment,
            run.operation,
            run.plan_id,
            run.team,
            run.who,
            run.status,
            run.created_at,
            run.finished_at,
            run.engine_run_id,
            run.history_id,
            json.dumps(run.detail, default=str),
            run.server,
        ),
    )


def _token(row: tuple[Any, ...]) -> TokenRow:
    values = list(row)
    values[4] = json.loads(values[4])
    return TokenRow(*values)


def _run(row: tuple[Any, ...]) -> RunRow:
    values = list(row)
    values[11] = json.loads(values[11] or "{}")
    return RunRow(*values)


def server_store_path(state_root: Path) -> Path:
    return state_root / "serve.db"


def open_server_store(platform: Platform) -> ServerStore:
    """The server store ``[serve] database`` names (``PODIUM_SERVE_DATABASE`` wins)."""
    serve = platform.config.serve
    database = platform.environ.get("PODIUM_SERVE_DATABASE") or serve.database
    if database == "sqlite":
        return ServerStore(server_store_path(platform.state_root))
    if database.startswith(("postgresql://", "postgres://")):
        return ServerStore(url=database, schema=serve.database_schema)
    from podium.errors import ConfigError

    raise ConfigError(
        f'[serve] database must be "sqlite" or a postgresql:// URI, not {_masked(database)!r}',
        field="serve.database",
    )


def _connect_postgres(url: str, schema: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise StateError(
            "a postgresql:// server database needs psycopg",
            hint="pip install podium-postgres (or psycopg[binary])",
        ) from None
    db = psycopg.connect(url, autocommit=True, connect_timeout=10)
    db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    db.execute(f'SET search_path TO "{schema}"')
    return db


def _masked(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable database URI>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


__all__ = [
    "FINISHED",
    "SERVE_MIGRATIONS",
    "SERVE_SCHEMA_VERSION",
    "RunRow",
    "ServerStore",
    "TokenRow",
    "server_store_path",
]
