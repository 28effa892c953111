"""``[plugins.postgres]`` settings and ``[state] options`` for ``backend = "postgres"``."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from podium_postgres.dsn import Dsn

#: Schema names are restricted to plain identifiers so they can be quoted without surprises.
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _check_schema(value: str | None) -> str | None:
    if value is None:
        return value
    if not _SCHEMA_NAME.match(value):
        raise ValueError(
            "must be a plain identifier: letters, digits and _, not starting with a digit, "
            "at most 63 characters"
        )
    # PostgreSQL's own schemas (pg_catalog, pg_toast, pg_temp..., information_schema)
    # are not a place for Podium's tables: refused whatever their case. ``public`` is
    # allowed (see the state-backend guide: a database of its own for the state is
    # then recommended).
    if value.lower().startswith("pg_") or value.lower() == "information_schema":
        raise ValueError(
            f"{value!r} is a PostgreSQL system schema; use a schema of Podium's own, "
            'e.g. schema = "podium" (the default)'
        )
    return value


class Settings(BaseModel):
    """How podium-postgres reaches the database; ``[state] options`` override each key.

    Keep passwords out of podium.toml: set ``PODIUM_PLUGIN_POSTGRES_DSN``, or
    leave the password out of the DSN and let libpq read ``PGPASSWORD`` or ``~/.pgpass``.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # A Dsn, not a str: it may hold a password, so it is shown masked everywhere.
    dsn: Dsn | None = Field(
        default=None,
        description="libpq connection string or URI, e.g. postgresql://podium@db.internal/podium "
        "(shown with its password masked).",
    )
    schema_name: str = Field(
        default="podium",
        alias="schema",
        description="PostgreSQL schema holding Podium's tables (one set per schema).",
    )
    connect_timeout: float = Field(
        default=10.0, gt=0, description="Seconds to wait for the server."
    )
    intent_retention_days: float = Field(
        default=30.0, gt=0, description="How long completed intents are kept for debugging."
    )
    # The pg_ prefix keeps these apart from the engine's lock_timeout (--lock-timeout),
    # which is how long a run waits for another run's Podium lease.
    pg_lock_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a state call waits for a PostgreSQL row or table lock another "
        "session holds (the server's lock_timeout) before failing.",
    )
    pg_statement_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds one state statement may run on the server (statement_timeout).",
    )
    reconnect_timeout: float = Field(
        default=30.0,
        ge=0,
        description="Seconds a state call keeps reconnecting while the server restarts or "
        "fails over before failing (0: never retry).",
    )

    @field_validator("schema_name")
    @classmethod
    def _schema_is_identifier(cls, value: str | None) -> str | None:
        return _check_schema(value)


class StateOptions(BaseModel):
    """``[state] options``: each key, when set, overrides the plugin setting of the same name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dsn: Dsn | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    connect_timeout: float | None = Field(default=None, gt=0)
    intent_retention_days: float | None = Field(default=None, gt=0)
    pg_lock_timeout: float | None = Field(default=None, gt=0)
    pg_statement_timeout: float | None = Field(default=None, gt=0)
    reconnect_timeout: float | None = Field(default=None, ge=0)

    @field_validator("schema_name")
    @classmethod
    def _schema_is_identifier(cls, value: str | None) -> str | None:
        return _check_schema(value)
