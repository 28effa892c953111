"""Small filesystem helpers shared by the provisioners and the deployer."""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from podium.plugin import EnvironmentInfo

# A unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux,
# including the terminating NUL). Stay well below it.
MAX_SOCKET_PATH = 100


def plugin_dir(env: EnvironmentInfo) -> Path:
    """The directory podium-local owns inside an environment's state directory."""
    return env.state_dir / "local"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700 and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` so readers see the old or the new file, never half of one.

    The temporary file is created with ``mode`` from the start, so content is
    never readable by others even for an instant.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` across processes and threads.

    ``flock`` locks belong to the open file description, so two threads that
    each open the file exclude each other just like two processes do.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def socket_dir(preferred: Path, purpose: str, longest_name: int = 24) -> Path:
    """A directory for unix sockets: ``preferred`` if short enough, else one under /tmp.

    The fallback name is derived from ``preferred``, so every invocation for the
    same state directory finds the same socket again.
    """
    if len(str(preferred)) + 1 + longest_name <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"podium-{purpose}-{digest}"
