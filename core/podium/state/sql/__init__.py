"""One SQL state layer for every SQL backend: the shared store and the dialect it runs through.

SQLite (:mod:`podium.state.sqlite`) and podium-postgres are each a
:class:`SqlDialect` and a thin :class:`SqlStateStore` subclass; the lease, the
intent journal, serial bumps, history, releases and generated values are written
once, here. See the state-backend section of the plugin-author guide.
"""

from podium.state.sql.dialect import TABLES, Connection, Scope, SqlDialect
from podium.state.sql.reconnect import ConnectionLost
from podium.state.sql.store import SqlStateStore

__all__ = ["TABLES", "Connection", "ConnectionLost", "Scope", "SqlDialect", "SqlStateStore"]
