"""State storage: the embedded SQLite backend and lease rules shared by backends.

Only the standard library is imported here (``sqlite3``), so opening state is cheap.
"""

from podium.state.lease import locked_error, pid_alive, takeover_reason
from podium.state.sqlite import DB_FILE_NAME, SqliteStateBackend, SqliteStateStore

__all__ = [
    "DB_FILE_NAME",
    "SqliteStateBackend",
    "SqliteStateStore",
    "locked_error",
    "pid_alive",
    "takeover_reason",
]
