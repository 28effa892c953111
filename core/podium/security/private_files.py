"""Directories and files only their owner can use: the state root and what lives in it.

State, keys, secrets, events and spans are private to the user running Podium,
whatever that user's umask. Modes are set explicitly (``chmod`` after
``mkdir``, ``fchmod`` after ``open``) because the umask can only remove bits,
and a library must not change the process umask for everyone else in it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_POSIX = os.name == "posix"


def make_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parent with mode 0700; existing directories are left alone.

    ``Path.mkdir(parents=True, mode=...)`` applies ``mode`` to the last directory
    only (parents get the umask's default), so each missing level is made here.
    """
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            if not directory.is_dir():
                raise
            continue  # another process made it meanwhile: its maker set the mode
        if _POSIX:
            os.chmod(directory, PRIVATE_DIR_MODE)
    return path


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; ``True`` if it was created here."""
    make_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        _make_private(fd)
    finally:
        os.close(fd)
    return True


def open_private_append(path: Path) -> TextIO:
    """Open ``path`` for appending text, creating it (and its directory) private if missing."""
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        info = os.fstat(fd)
        if _POSIX and info.st_size == 0 and info.st_uid == os.geteuid():
            # New (or still empty): whatever the umask made of the mode, make it exactly 0600.
            _make_private(fd)
        return os.fdopen(fd, "a", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def _make_private(fd: int) -> None:
    if _POSIX:
        os.fchmod(fd, PRIVATE_FILE_MODE)


def fsync_dir(directory: Path) -> None:
    """Make new entries of ``directory`` durable; not possible on every platform."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
