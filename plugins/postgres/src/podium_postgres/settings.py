"""``[plugins.postgres]`` settings and ``[state] options`` for ``backend = "postgres"``."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

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

    dsn: str | None = Field(
        default=None,
        description="libpq connection string or URI, e.g. postgresql://podium@db.internal/podium.",
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

    @field_validator("schema_name")
    @classmethod
    def _schema_is_identifier(cls, value: str | None) -> str | None:
        return _check_schema(value)


class StateOptions(BaseModel):
    """``[state] options``: each key, when set, overrides the plugin setting of the same name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dsn: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    connect_timeout: float | None = Field(default=None, gt=0)
    intent_retention_days: float | None = Field(default=None, gt=0)

    @field_validator("schema_name")
    @classmethod
    def _schema_is_identifier(cls, value: str | None) -> str | None:
        return _check_schema(value)
