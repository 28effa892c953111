"""Running server binaries: as the right user, with errors that show the server's own words."""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Sequence
from pathlib import Path

from podium.plugin import ResourceError


def running_as_root() -> bool:
    return os.geteuid() == 0


def as_user(user: str | None, argv: Sequence[str]) -> list[str]:
    """Prefix ``argv`` with ``runuser`` when root must run it as ``user``.

    PostgreSQL refuses to run as root, so as root we run it as the ``postgres``
    account the Debian package creates.
    """
    if user and running_as_root():
        return ["runuser", "-u", user, "--", *argv]
    return list(argv)


def user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def run(
    argv: Sequence[str], what: str, *, timeout: float = 60.0, env: dict[str, str] | None = None
) -> str:
    """Run a command to completion; on failure raise a ResourceError quoting its output."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ResourceError(f"{what}: {exc.filename} not found") from None
    except subprocess.TimeoutExpired:
        raise ResourceError(f"{what}: timed out after {timeout:.0f}s") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip().splitlines()[-8:]
        raise ResourceError(f"{what} failed (exit {done.returncode}): " + " | ".join(output))
    return done.stdout


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited: only its parent (init, for a daemon) has not collected it yet.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
