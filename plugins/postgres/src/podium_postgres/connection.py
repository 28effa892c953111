"""Connections to the state database: the server's wait limits, and telling a lost one.

Two kinds of waiting must never be confused:

* The engine's ``lock_timeout`` (``--lock-timeout``) is how long a run waits
  for *another Podium run's lease* on the environment.
* ``pg_lock_timeout`` and ``pg_statement_timeout`` here are PostgreSQL's own
  ``lock_timeout`` and ``statement_timeout``, set on every connection: how long
  one state statement waits for a row another database session holds (a stuck
  session left ``idle in transaction``, a person in ``psql``), and how long it
  may run. Without them such a session blocks Podium forever.
"""

from __future__ import annotations

import select
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

    Connection = psycopg.Connection[tuple[Any, ...]]

#: SQLSTATEs that mean the server went away or is not taking connections yet:
#: admin_shutdown, crash_shutdown, cannot_connect_now (starting up, shutting down).
_SERVER_GONE = frozenset({"57P01", "57P02", "57P03"})
#: lock_not_available: ``lock_timeout`` ran out.
LOCK_TIMED_OUT = "55P03"
#: query_canceled: ``statement_timeout`` ran out (or someone cancelled the statement).
STATEMENT_CANCELLED = "57014"


@dataclass(frozen=True)
class Limits:
    """How long to wait for what, in seconds (see the module docstring)."""

    connect_timeout: float = 10.0
    pg_lock_timeout: float = 30.0
    pg_statement_timeout: float = 120.0
    reconnect_timeout: float = 30.0


def connect(dsn: str, limits: Limits) -> Connection:
    """A new autocommit connection with the server-side wait limits set; psycopg errors pass."""
    import psycopg

    db = psycopg.connect(
        dsn,
        autocommit=True,
        connect_timeout=max(1, round(limits.connect_timeout)),
        application_name="podium",
    )
    try:
        # set_config rather than libpq's startup "options": poolers such as
        # PgBouncer refuse unknown startup parameters, and a DSN's own options stay.
        db.execute(
            "SELECT set_config('lock_timeout', %s, false), "
            "set_config('statement_timeout', %s, false)",
            (_ms(limits.pg_lock_timeout), _ms(limits.pg_statement_timeout)),
        )
    except BaseException:
        db.close()
        raise
    return db


def lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection broke or could not be made (worth retrying)."""
    import psycopg

    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = getattr(exc, "sqlstate", None)
    # No SQLSTATE: the server never answered (refused, reset, closed the socket).
    return state is None or state.startswith("08") or state in _SERVER_GONE


def went_away(db: Connection) -> bool:
    """Whether an idle connection is closed, broken, or was dropped by the server meanwhile.

    An idle connection has nothing to read unless the server wrote to it: when
    it shuts down or restarts it sends a FATAL message and closes the socket.
    Polling the socket costs no round trip.
    """
    if db.closed or db.broken:
        return True
    try:
        fd = db.fileno()
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([fd], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


__all__ = ["LOCK_TIMED_OUT", "STATEMENT_CANCELLED", "Limits", "connect", "lost", "went_away"]
