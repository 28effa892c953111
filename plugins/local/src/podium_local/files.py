"""Small filesystem helpers shared by the provisioners and the deployer."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

# The core's public helpers, under the names the plugin's modules import from here.
from podium.plugin import EnvironmentInfo, file_lock, write_atomic

__all__ = [
    "MAX_SOCKET_PATH",
    "file_lock",
    "plugin_dir",
    "private_dir",
    "socket_dir",
    "write_atomic",
]

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


def socket_dir(preferred: Path, purpose: str, longest_name: int = 24) -> Path:
    """A directory for unix sockets: ``preferred`` if short enough, else one under /tmp.

    The fallback name is derived from ``preferred``, so every invocation for the
    same state directory finds the same socket again.
    """
    if len(str(preferred)) + 1 + longest_name <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"podium-{purpose}-{digest}"
