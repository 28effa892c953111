"""The SQLite state file itself: created complete and private, or refused when damaged.

A new database is built under a temporary name and hard-linked into place, so
``state.db`` either does not exist (a new environment) or is a complete, migrated
database. An empty or foreign file at that name is therefore never a new
environment: it is lost state (a truncation, a bad restore, a full disk), and
treating it as empty would plan to create again everything that still runs.
The local secret store's ``secrets.db`` is made and checked the same way.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from podium.errors import StateError
from podium.security.private_files import create_private_file, fsync_dir, make_private_dir

#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"


STATE_DATABASE = "state database"
SECRET_STORE = "secret store"
_FRESH_ONLY_IF = {
    STATE_DATABASE: "nothing was ever deployed in this environment",
    SECRET_STORE: "none of its secrets is needed",
}


def way_out(path: Path, what: str = STATE_DATABASE) -> str:
    """How to recover from a damaged ``what`` at ``path`` (the documented way out)."""
    condition = _FRESH_ONLY_IF.get(what, "nothing in it is needed")
    return (
        f"restore {path} from a backup; only if {condition}, delete {path} "
        f"(and {path.name}-wal, {path.name}-shm next to it) to start afresh"
    )


def damaged(path: Path, reason: str, what: str = STATE_DATABASE) -> StateError:
    """The error for a file that exists but is not a usable database."""
    return StateError(
        f"{what} {path} is damaged ({reason}); refusing to start it afresh",
        hint=way_out(path, what),
    )


def ensure(path: Path, initialise: Callable[[sqlite3.Connection], object]) -> bool:
    """Create the database at ``path`` if nothing is there; ``True`` if this call created it.

    ``initialise`` runs on the new database (in autocommit mode, WAL journal)
    before it appears under its name; it creates the schema.
    """
    if os.path.lexists(path):
        return False
    make_private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.new")
    create_private_file(temp)
    try:
        db = sqlite3.connect(temp, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file
            initialise(db)
        finally:
            db.close()  # the last connection checkpoints the WAL into the file
        try:
            os.link(temp, path)
        except FileExistsError:
            return False  # another process created it first: use theirs
        except OSError:
            # A file system without hard links: rename, which cannot refuse an
            # existing name, so look first (a tiny window, on unusual disks only).
            if os.path.lexists(path):
                return False
            os.rename(temp, path)
        fsync_dir(path.parent)
        return True
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{temp}{suffix}").unlink(missing_ok=True)


def check_header(path: Path, what: str = STATE_DATABASE) -> None:
    """Refuse a file that is not a SQLite database, before SQLite gets to treat it as new.

    The header is read through SQLite, never with a file handle of our own: closing
    any handle on the file drops every POSIX lock this process holds on it, those of
    its open connections included, and another process could then checkpoint or
    rewrite the database under them ("database disk image is malformed").
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise damaged(path, "it is not a regular file", what)
        if not os.access(path, os.R_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise StateError(
            f"cannot read {what} {path}: {exc.strerror or exc}",
            hint=f"make {path} readable by this user, or {way_out(path, what)}",
        ) from None
    if info.st_size == 0:
        raise StateError(
            f"{what} {path} is empty (0 bytes): it was truncated or lost; "
            "refusing to start it afresh",
            hint=way_out(path, what),
        )
    try:
        db = connect(path, 5.0)
    except sqlite3.Error as exc:
        raise StateError(f"cannot open {what} {path}: {exc}") from None
    try:
        # Reads page 1: SQLite refuses a file whose header is not its own (SQLITE_NOTADB).
        db.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        if type(exc) is sqlite3.DatabaseError:
            raise damaged(path, "it is not a SQLite database", what) from None
        raise StateError(f"cannot read {what} {path}: {exc}") from None
    finally:
        db.close()


def open_existing(
    path: Path, initialise: Callable[[sqlite3.Connection], object], what: str = STATE_DATABASE
) -> None:
    """Make sure ``path`` is a database: create it (see :func:`ensure`) or check the file there."""
    if not ensure(path, initialise):
        check_header(path, what)


def connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    """Open the existing database at ``path``; never creates one (``mode=rw``)."""
    uri = f"file:{quote(str(path.absolute()))}?mode=rw"
    return sqlite3.connect(
        uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
