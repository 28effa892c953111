"""A deployer's own files: a private directory, atomic writes, and a lock across processes.

``podium status`` in one terminal, ``podium up`` in another and a portal in a third
may call the same deployer at once, each in its own process: what a deployer keeps
between calls (pids, assigned ports, the release it runs) is written atomically (a
reader sees the old file or the new one, never half) and changed under
:meth:`DeployerState.lock`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from podium.platform.context import EnvironmentInfo
from podium.security.private_files import make_private_dir

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def write_atomic(path: Path, data: str | bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never half of one.

    The temporary file has ``mode`` from its creation (a secret is never readable by
    others, not even for an instant) and is flushed to disk before it replaces ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def file_lock(path: Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` across processes and threads.

    ``flock`` locks belong to the open file, so two threads that each open it exclude
    each other as two processes do; the lock goes when its holder dies. With
    ``timeout``, raise ``TimeoutError`` after waiting that many seconds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if timeout is None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TimeoutError(f"{path} is locked by another process") from None
                    time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class DeployerState:
    """A directory only the user running Podium can read, for one deployer in one environment.

    ``DeployerState.for_deployer(ctx.env, self.name)`` is
    ``<environment state dir>/deployers/<name>``; :meth:`workload` gives one
    subdirectory per workload. File names are single path components (no ``/``, no
    ``..``): a workload name never escapes the directory.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_deployer(cls, env: EnvironmentInfo, deployer: str) -> DeployerState:
        return cls(env.state_dir / "deployers" / _checked(deployer))

    def workload(self, name: str) -> DeployerState:
        """The subdirectory of one workload."""
        return DeployerState(self.path / "workloads" / _checked(name))

    def file(self, name: str) -> Path:
        """The path of file ``name`` (the directory is made, private, on first use)."""
        make_private_dir(self.path)
        return self.path / _checked(name)

    def write_text(self, name: str, text: str, *, mode: int = 0o600) -> Path:
        path = self.file(name)
        write_atomic(path, text, mode=mode)
        return path

    def read_text(self, name: str) -> str | None:
        """The file's text, or ``None`` when it does not exist."""
        try:
            return (self.path / _checked(name)).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_json(self, name: str, data: Any, *, mode: int = 0o600) -> Path:
        return self.write_text(name, json.dumps(data, indent=2, sort_keys=True), mode=mode)

    def read_json(self, name: str, default: Any = None) -> Any:
        """The file's JSON, or ``default`` when it does not exist or is not JSON."""
        text = self.read_text(name)
        if text is None:
            return default
        try:
            return json.loads(text)
        except ValueError:
            return default

    def remove(self, name: str) -> None:
        """Delete file ``name``; nothing happens if it does not exist."""
        (self.path / _checked(name)).unlink(missing_ok=True)

    def remove_all(self) -> None:
        """Delete the directory and everything in it (locks are files too: hold none)."""
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)

    @contextmanager
    def lock(self, name: str = "state", *, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock ``name`` of this directory (see :func:`file_lock`)."""
        make_private_dir(self.path)
        with file_lock(self.path / f".{_checked(name)}.lock", timeout=timeout):
            yield


def _checked(name: str) -> str:
    if not _NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError(f"{name!r} is not a plain file name (letters, digits, '.', '_', '-')")
    return name
