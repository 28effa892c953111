"""``platform.state_dir`` must be a directory (or not exist yet): checked when a platform opens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from podium.errors import ConfigError, Location


def check_state_dir(state_root: Path, locate: Callable[..., Location | None] | None) -> None:
    """Raise ConfigError, located at ``platform.state_dir``, when ``state_root`` or one of
    its parents exists but is not a directory (creating state in it would fail later
    with an internal error)."""
    for path in (state_root, *state_root.parents):
        if path.exists() or path.is_symlink():
            if path.is_dir():
                return
            what = "is" if path == state_root else f"is inside {path}, which is"
            raise ConfigError(
                f"state directory {state_root} {what} not a directory",
                location=locate(("platform", "state_dir")) if locate is not None else None,
                field="platform.state_dir",
                hint="point state_dir at a directory (or a path that does not exist yet)",
            )


__all__ = ["check_state_dir"]
