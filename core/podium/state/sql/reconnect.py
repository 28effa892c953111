"""Riding out a database server restart: retry a state call whose connection was lost.

A database server that restarts (an upgrade, a failover, ``pg_ctl restart``)
drops every connection and refuses new ones for a moment. A state call that
lost its connection is retried on a fresh one, with backoff, for up to the
dialect's :attr:`~podium.state.sql.SqlDialect.reconnect_timeout`, when doing it
twice is harmless: the call is *idempotent* (reads, upserts, deletes, the lease
calls of one run). A call that is not (opening intents, adding a history entry
or a release) is not retried: its transaction may have committed just before the
connection broke. It still starts on a live connection, since the pool drops
connections that died while idle.

A dialect says a connection was lost by raising :class:`ConnectionLost` (a
:class:`~podium.errors.StateError`) from ``connect`` or ``error``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from podium.errors import StateError

if TYPE_CHECKING:
    from podium.state.sql.store import SqlStateStore

P = ParamSpec("P")
T = TypeVar("T")
StoreT = TypeVar("StoreT", bound="SqlStateStore")

#: First pause between attempts, in seconds; doubles (with jitter) up to _LONGEST_PAUSE.
_FIRST_PAUSE = 0.1
_LONGEST_PAUSE = 2.0


class ConnectionLost(StateError):
    """The database connection broke or could not be made: the server may be restarting.

    Raised by a dialect; an idempotent state call is retried when it sees one.
    """


def reconnecting(
    method: Callable[Concatenate[StoreT, P], T],
) -> Callable[Concatenate[StoreT, P], T]:
    """Mark an idempotent store method: retried on :class:`ConnectionLost` (see the module)."""

    @functools.wraps(method)
    def call(store: StoreT, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(store, *args, **kwargs)
        except ConnectionLost:
            if store.dialect.reconnect_timeout <= 0:
                raise
        return _retry(store, lambda: method(store, *args, **kwargs))

    return call


def _retry(store: SqlStateStore, attempt: Callable[[], T]) -> T:
    import tenacity  # only a lost connection pays for the import

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(store.dialect.reconnect_timeout),
        wait=tenacity.wait_exponential_jitter(
            multiplier=_FIRST_PAUSE, max=_LONGEST_PAUSE, jitter=_FIRST_PAUSE
        ),
        retry=tenacity.retry_if_exception_type(ConnectionLost),
        reraise=True,
    )
    return retrying(attempt)


__all__ = ["ConnectionLost", "reconnecting"]
