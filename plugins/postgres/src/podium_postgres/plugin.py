"""The podium-postgres plugin module (entry point ``postgres`` in group ``podium.plugins``).

psycopg is imported only when a state store connects, never here.
"""

from __future__ import annotations

from collections.abc import Iterable

from podium.plugin import StateBackend, hookimpl
from podium_postgres.settings import Settings

PODIUM_API = ">=1.2,<2"

__all__ = ["PODIUM_API", "Settings", "podium_state_backends"]


@hookimpl
def podium_state_backends(settings: Settings | None) -> Iterable[StateBackend]:
    from podium_postgres.store import PostgresStateBackend

    return [PostgresStateBackend(settings)]
