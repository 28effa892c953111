"""The PostgreSQL state schema and its ordered migrations.

One set of tables lives in one PostgreSQL schema (default ``podium``); every
row carries ``(platform, environment)``, so any number of platforms and
environments share a database. ``schema_version`` holds the number of
migrations applied. Migrating runs in one transaction under a transaction-level
advisory lock, so processes opening a fresh database at once migrate it exactly
once, and a failure leaves the old version untouched (PostgreSQL DDL is transactional).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from podium.plugin import (
    GENESIS_HASH,
    HISTORY_APPEND_ONLY,
    StateError,
    audit_column_definitions,
    now_iso,
    seal_history,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql as psycopg_sql

#: A step that SQL alone cannot do (hashing): called with the connection, inside the
#: migration's transaction, and the quoted schema name.
PythonStep = Callable[["psycopg.Connection[tuple[Any, ...]]", "psycopg_sql.Identifier"], None]
#: A migration is a list of steps: statements, where ``{schema}`` is replaced by the quoted
#: schema name, or Python steps.
Migration = tuple[str | PythonStep, ...]

_V1_INITIAL: Migration = (
    """CREATE TABLE {schema}.environments (
        platform TEXT NOT NULL,
        environment TEXT NOT NULL,
        serial BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (platform, environment)
    )""",
    """CREATE TABLE {schema}.records (
        platform TEXT NOT NULL,
        environment TEXT NOT NULL,
        uid TEXT NOT NULL,
        kind TEXT NOT NULL,
        provider TEXT NOT NULL,
        plugin TEXT NOT NULL,
        physical_name TEXT,
        spec TEXT NOT NULL,
        spec_hash TEXT NOT NULL,
        outputs TEXT NOT NULL,
        depends_on TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, environment, uid)
    )""",
    """CREATE TABLE {schema}.intents (
        id BIGSERIAL PRIMARY KEY,
        platform TEXT NOT NULL,
        environment TEXT NOT NULL,
        node TEXT NOT NULL,
        action TEXT NOT NULL,
        spec TEXT NOT NULL,
        run_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        completed_at TEXT
    )""",
    # Recovery reads only pending intents: a partial index keeps that cheap
    # however long the journal of completed ones grows.
    """CREATE INDEX intents_pending ON {schema}.intents (platform, environment, id)
        WHERE completed_at IS NULL""",
    "CREATE INDEX intents_completed_at ON {schema}.intents (completed_at)",
    """CREATE TABLE {schema}.generated (
        platform TEXT NOT NULL,
        environment TEXT NOT NULL,
        node TEXT NOT NULL,
        key TEXT NOT NULL,
        token TEXT NOT NULL,
        PRIMARY KEY (platform, environment, node, key)
    )""",
    """CREATE TABLE {schema}.locks (
        platform TEXT NOT NULL,
        environment TEXT NOT NULL,
        owner TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        run_id TEXT NOT NULL,
        operation TEXT NOT NULL,
        acquired_at DOUBLE PRECISION NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (platform, environment)
    )""",
    """CREATE TABLE {schema}.history (
        id BIGSERIAL PRIMARY KEY,
        platform TEXT NOT NULL,
        environment TEXT NOT NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX history_env ON {schema}.history (platform, environment, id)",
    """CREATE TABLE {schema}.releases (
        platform TEXT NOT NULL,
        environment TEXT NOT NULL,
        workload TEXT NOT NULL,
        number INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (platform, environment, workload, number)
    )""",
)

# Who owns each node (podium.identity). Records written before stay NULL: the first
# plan whose Score files include them adopts them (podium.engine.ownership).
_V2_RECORD_OWNER: Migration = ("ALTER TABLE {schema}.records ADD COLUMN owner TEXT",)

# Lease fencing (podium.state.sql.store): each environment's epoch, one above every lease
# granted so far, and the lease's epoch and holder identity (podium.state.lease).
_V3_LEASE_FENCING: Migration = (
    "ALTER TABLE {schema}.environments ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE {schema}.locks ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE {schema}.locks ADD COLUMN boot_id TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE {schema}.locks ADD COLUMN pid_namespace TEXT NOT NULL DEFAULT ''",
)

# The engine's bookkeeping (digest, failed release...) gets its own column, beside the
# spec. Records written before keep it inside ``spec``: reading one lifts it out
# (ResourceRecord), and the engine's next write of the record stores it here.
_V4_RECORD_BOOKKEEPING: Migration = (
    "ALTER TABLE {schema}.records ADD COLUMN bookkeeping TEXT NOT NULL DEFAULT '{{}}'",
)


def _seal_history(db: psycopg.Connection[tuple[Any, ...]], schema: psycopg_sql.Identifier) -> None:
    """Seal every environment's entries written before chaining into its chain, oldest
    first (origin ``migration``), and record each chain's head."""
    from psycopg import sql

    def q(statement: str) -> sql.Composed:
        return sql.SQL(statement).format(schema=schema)

    db.execute(
        q(
            "INSERT INTO {schema}.environments (platform, environment) "
            "SELECT DISTINCT platform, environment FROM {schema}.history ON CONFLICT DO NOTHING"
        )
    )
    at = now_iso()
    scopes = db.execute(q("SELECT DISTINCT platform, environment FROM {schema}.history")).fetchall()
    for platform, environment in scopes:
        rows = db.execute(
            q(
                "SELECT id, data FROM {schema}.history WHERE platform = %s AND environment = %s "
                "ORDER BY id"
            ),
            (platform, environment),
        ).fetchall()
        sealed = seal_history(rows, at, table="{schema}.history", param="%s")
        with db.cursor() as cursor:
            cursor.executemany(q(sealed.statement), sealed.rows)
        db.execute(
            q(
                "UPDATE {schema}.environments SET audit_seq = %s, audit_hash = %s "
                "WHERE platform = %s AND environment = %s"
            ),
            (sealed.head.seq, sealed.head.hash, platform, environment),
        )


# History becomes the append-only, hash-chained audit trail (podium.state.audit_chain): a
# record per write, never changed; each environment's chain head beside its serial. The
# entries written before are sealed into the chain by this migration; a trigger refuses
# UPDATE, DELETE and TRUNCATE of history (someone who drops it is caught by the chain).
_V5_AUDIT_CHAIN: Migration = (
    "ALTER TABLE {schema}.history "
    + ", ".join(f"ADD COLUMN {column}" for column in audit_column_definitions("BIGINT")),
    f"""ALTER TABLE {{schema}}.environments
        ADD COLUMN audit_seq BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN audit_hash TEXT NOT NULL DEFAULT '{GENESIS_HASH}'""",
    _seal_history,
    "ALTER TABLE {schema}.history ALTER COLUMN seq SET NOT NULL, ALTER COLUMN entry_id SET NOT NULL",
    # Two appends chained onto one head would take the same seq: the second fails here.
    "CREATE UNIQUE INDEX history_seq ON {schema}.history (platform, environment, seq)",
    "CREATE INDEX history_entry ON {schema}.history (platform, environment, entry_id, seq)",
    f"""CREATE FUNCTION {{schema}}.history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{HISTORY_APPEND_ONLY}';
        END $$""",
    """CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON {schema}.history
        FOR EACH ROW EXECUTE FUNCTION {schema}.history_append_only()""",
    """CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON {schema}.history
        FOR EACH STATEMENT EXECUTE FUNCTION {schema}.history_append_only()""",
)

#: Ordered: index ``i`` migrates from version ``i`` to ``i + 1``. Only ever append.
MIGRATIONS: tuple[Migration, ...] = (
    _V1_INITIAL,
    _V2_RECORD_OWNER,
    _V3_LEASE_FENCING,
    _V4_RECORD_BOOKKEEPING,
    _V5_AUDIT_CHAIN,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(
    db: psycopg.Connection[tuple[object, ...]],
    schema: str,
    where: str,
    *,
    target: int = SCHEMA_VERSION,
    migrations: tuple[Migration, ...] = MIGRATIONS,
) -> int:
    """Bring ``schema`` to version ``target``; return the version it had before.

    ``db`` must be in autocommit mode (no transaction open). ``where`` names the
    database in errors (host and database, never a password). A schema already at
    ``target`` is only read, so a role with no right to create anything (see the
    README's least-privilege role) opens the state; creating or migrating it takes
    a role that may create the schema or owns it.
    """
    import psycopg

    current = _current_version(db, schema)
    if current is not None:
        refuse_newer(current, schema, where, target)
        if current == target:
            return current
    try:
        return _migrate_locked(db, schema, where, target, migrations)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StateError(
            f"the state schema {schema!r} in {where} is at version {current or 0} and needs "
            f"version {target}, but this database role may not create or change it: "
            f"{str(exc).strip().splitlines()[0]}",
            hint="run podium once (e.g. 'podium doctor') as the role that owns the schema, or "
            "one with CREATE on the database; see podium-postgres' README, 'A least-privilege role'",
        ) from None


def _current_version(db: psycopg.Connection[tuple[object, ...]], schema: str) -> int | None:
    """The schema's version, or ``None`` when it has no version table yet (read only)."""
    from psycopg import sql

    table = sql.Identifier(schema, "schema_version")
    found = db.execute("SELECT to_regclass(%s)", (table.as_string(db),)).fetchone()
    if found is None or found[0] is None:
        return None
    row = db.execute(sql.SQL("SELECT version FROM {}").format(table)).fetchone()
    return 0 if row is None else int(str(row[0]))


def _migrate_locked(
    db: psycopg.Connection[tuple[object, ...]],
    schema: str,
    where: str,
    target: int,
    migrations: tuple[Migration, ...],
) -> int:
    from psycopg import sql

    quoted = sql.Identifier(schema)

    def run(statement: str | PythonStep) -> None:
        if callable(statement):
            statement(db, quoted)
        else:
            db.execute(sql.SQL(statement).format(schema=quoted))

    with db.transaction():
        # Serialise concurrent first opens: CREATE SCHEMA IF NOT EXISTS itself races.
        db.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(schema),))
        exists = db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if exists is None:  # CREATE SCHEMA needs CREATE on the database even when it exists
            run("CREATE SCHEMA IF NOT EXISTS {schema}")
        run(
            "CREATE TABLE IF NOT EXISTS {schema}.schema_version ("
            "id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)"
        )
        row = db.execute(
            sql.SQL("SELECT version FROM {schema}.schema_version").format(schema=quoted)
        ).fetchone()
        version = 0 if row is None else int(str(row[0]))
        refuse_newer(version, schema, where, target)
        if version == target:
            return version
        for step in migrations[version:target]:
            for statement in step:
                run(statement)
        db.execute(
            sql.SQL(
                "INSERT INTO {schema}.schema_version (id, version) VALUES (1, %s) "
                "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version"
            ).format(schema=quoted),
            (target,),
        )
    return version


def refuse_newer(version: int, schema: str, where: str, known: int = SCHEMA_VERSION) -> None:
    if version > known:
        raise StateError(
            f"state schema {schema!r} in {where} has version {version}, written by a newer "
            f"podium-postgres; this one understands versions up to {known}",
            hint="upgrade podium-postgres to work with this state",
        )


def _lock_key(schema: str) -> int:
    # A stable 32-bit key per schema name (Python's hash() is salted per process).
    return zlib.crc32(f"podium-postgres-migrate:{schema}".encode())


__all__: list[str] = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate", "refuse_newer"]
