"""Finding the server binaries podium-local starts, with errors that say what to install."""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

from podium.plugin import ResourceError


def find_binary(
    name: str, *, configured: str | None, package: str, extra_dirs: tuple[str, ...] = ()
) -> str:
    """Return the path of ``name``: the configured path, then PATH, then ``extra_dirs``."""
    if configured:
        path = Path(configured)
        if path.is_dir():
            path = path / name
        if path.is_file():
            return str(path)
        raise ResourceError(
            f"{name} not found at the configured path {configured}",
            hint=f"fix the podium-local setting or install it: apt-get install {package}",
        )
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.is_file():
            return str(candidate)
    raise ResourceError(
        f"{name} is not installed (looked on PATH and in {', '.join(extra_dirs) or 'no other place'})",
        hint=f"install it: apt-get install {package}",
    )


def postgres_bin_dirs() -> tuple[str, ...]:
    """Debian/Ubuntu keep PostgreSQL's server binaries off PATH, one directory per version."""
    found = glob.glob("/usr/lib/postgresql/*/bin")

    # Newest major version first; numeric sort so 9 does not beat 15.
    def major(path: str) -> int:
        part = Path(path).parent.name
        return int(part) if part.isdigit() else 0

    return tuple(sorted(found, key=major, reverse=True))


def postgres_binary(name: str, bin_dir: str | None) -> str:
    """``initdb``/``pg_ctl``: the configured directory, then the newest Debian version, then PATH."""
    if bin_dir:
        return find_binary(name, configured=bin_dir, package="postgresql")
    for directory in postgres_bin_dirs():
        candidate = Path(directory) / name
        if candidate.is_file():
            return str(candidate)
    return find_binary(name, configured=None, package="postgresql")
