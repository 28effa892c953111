"""A container's files when its processes run as the workload's own user (see isolation).

Kept apart from the deployer's heavier modules because the launcher, which
starts every process, needs it too.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from podium.plugin import ResourceError

# The operator's variables a workload still inherits when it runs as its own user.
INHERITED = re.compile(r"(LANG|LANGUAGE|LC_[A-Z]+|TZ|TERM)")


@dataclass(frozen=True)
class RunAs:
    """The unprivileged identity a workload's processes take."""

    user: str
    uid: int
    gid: int
    home: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RunAs | None:
        return cls(**data) if data else None


def write_in_root(
    root: Path, target: Path, data: bytes, mode: int, who: RunAs | None, *, private: bool = False
) -> None:
    """Write a file under a container root without following symlinks (the launcher too).

    ``private`` files (secrets) belong to the workload's user with mode 0600;
    others to root and the user's group, with their own mode.
    """
    if who is not None and not target.parent.resolve().is_relative_to(root.resolve()):
        raise ResourceError(
            f"file {target} would be written outside the container root (through a volume?); "
            "files cannot be placed inside volumes when workloads run as their own user"
        )
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:  # ELOOP: the workload planted a symlink where the file goes
        raise ResourceError(f"cannot write file {target}: {exc.strerror or exc}") from None
    try:
        if who is not None:
            os.fchown(fd, who.uid if private else 0, who.gid)
        os.fchmod(fd, 0o600 if private else mode)
        os.write(fd, data)
    finally:
        os.close(fd)


def unreachable_part(path: Path) -> str | None:
    """Why a user other than the owner cannot reach ``path`` (a parent without o+x), or None."""
    current = Path("/")
    for part in path.parts[1:]:
        try:
            info = os.stat(current)
        except OSError:
            return None
        if not info.st_mode & stat.S_IXOTH:
            return f"{current} (mode {stat.S_IMODE(info.st_mode):04o})"
        current = current / part
    return None
