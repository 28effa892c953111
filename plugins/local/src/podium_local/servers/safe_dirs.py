"""Directories for servers outside the state directory, safe from other local users.

Some server directories cannot live in the platform's state directory (a unix
socket path must be short; PostgreSQL's own user must reach its data), so they
go to ``/tmp`` or ``/var/tmp``, where every local user can create names. Code
that runs as root there must never follow a planted symlink or adopt a
directory someone else made: a ``chown``/``chmod`` through a symlink would hand
any file on the machine to whoever planted it. So directories are created
fresh (``mkdtemp`` where the name need not be predictable), an existing one is
used only when ``lstat`` shows a real directory owned by us (or by the server's
user) that nobody else may write, and ``chown``/``chmod`` never follow symlinks.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from podium.plugin import ResourceError


def uid_of(user: str | None) -> int | None:
    return pwd.getpwnam(user).pw_uid if user else None


def check_owned(path: Path, owners: Iterable[int | None] = ()) -> Path:
    """Refuse ``path`` unless it is a directory (not a symlink) owned by us or ``owners``."""
    allowed = {os.geteuid(), *(uid for uid in owners if uid is not None)}
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise ResourceError(f"{path} does not exist") from None
    problem = None
    if stat.S_ISLNK(info.st_mode):
        problem = "is a symbolic link"
    elif not stat.S_ISDIR(info.st_mode):
        problem = "is not a directory"
    elif info.st_uid not in allowed:
        problem = f"is owned by uid {info.st_uid}, not by podium-local"
    elif info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = "is writable by other users"
    if problem:
        raise ResourceError(
            f"refusing to use {path}: it {problem}",
            hint="someone else may have created it; remove it and run the command again",
        )
    return path


def owned_dir(path: Path, mode: int = 0o700, owners: Iterable[int | None] = ()) -> Path:
    """Create ``path`` (its parent must exist) with ``mode``, or check the existing one."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, mode)
    return check_owned(path, owners)


def fresh_dir(parent: Path, prefix: str) -> Path:
    """A new directory with an unpredictable name, mode 0700, owned by us."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def set_mode(path: Path, mode: int) -> None:
    """``chmod`` that refuses to follow a symlink (Linux has no ``lchmod``)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def give_to(path: Path, user: str | None) -> None:
    """``chown`` to ``user`` (when running as root) without following symlinks."""
    if user and os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
