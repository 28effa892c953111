"""Host paths a Score file may name: only inside its own directory.

A Score file is written by a developer, but Podium reads ``files.*.source`` on the
operator's machine and copies the bytes into the deployment (and its release
history). Left unconfined, ``source: /etc/shadow`` or ``../../other/.podium/key``
hands operator files to any workload author. So:

* a file source resolves (symlinks included, with ``realpath``) inside the directory
  of the Score file that names it; absolute paths are accepted only when they land
  there too;
* a workload loaded from text with no file (through the API, say) has no directory,
  so it may name no host path at all: it uses ``content`` instead;
* paths the platform keeps private (its state directory, its key file) are refused
  even when they lie inside the workload's directory, as when a Score file sits next
  to ``podium.toml`` and ``.podium/``;
* a volume ``source`` names a volume, never a host directory: a resource placeholder
  (``${resources.data}``) or a plain volume name; a volume ``path`` (a sub-directory
  of the volume, ``/sub/path`` counts from the volume's root) never climbs out with ``..``.

The check runs at ``validate`` with the file and line, and again when the file is
read at apply (the file system may have changed in between).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from podium.workload.placeholders import references
from podium.workload.source import FieldPath

Problem = tuple[FieldPath, str]

#: A named volume (Docker/Compose style): no path separators, not "." or "..".
_VOLUME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Exactly one placeholder and nothing around it.
_WHOLE_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


class HostPathRefused(Exception):
    """A host path a workload may not read; the message says why (never the file's content)."""


def resolve_source(base: Path | None, source: str, private: Iterable[Path] = ()) -> Path:
    """The real path of file source ``source`` of a workload whose directory is ``base``.

    Raises HostPathRefused when the workload has no directory, when the path (after
    resolving symlinks) leaves ``base``, or when it lies in one of the ``private`` paths.
    """
    if base is None:
        raise HostPathRefused(
            "this workload was not loaded from a file, so it may not read host files; "
            "put the text in 'content' instead"
        )
    root = Path(os.path.realpath(base))
    wanted = Path(os.path.realpath(base / source))
    if not wanted.is_relative_to(root):
        via = "" if wanted == Path(os.path.normpath(base / source)) else " through a symlink"
        raise HostPathRefused(
            f"{source!r} resolves{via} to {wanted}, outside the workload's directory {root}; "
            "file sources must be inside the directory of the Score file"
        )
    for kept in private:
        kept_real = Path(os.path.realpath(kept))
        if wanted.is_relative_to(kept_real):
            raise HostPathRefused(
                f"{source!r} resolves to {wanted}, inside {kept_real}, which the platform "
                "keeps private (state, keys)"
            )
    return wanted


def read_source_file(path: Path, limit: int) -> bytes:
    """The bytes of regular file ``path`` (as returned by :func:`resolve_source`).

    Opened without following a symlink and without blocking, then checked on the open
    file: a FIFO or device planted in the workload's directory would otherwise hang or
    stream forever. Raises HostPathRefused for anything but a regular file of at most
    ``limit`` bytes; OSError (not found, permissions) propagates.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise HostPathRefused(f"{path} is a directory; files.source must name a file")
        if not stat.S_ISREG(info.st_mode):
            raise HostPathRefused(f"{path} is not a regular file (a FIFO or a device, say)")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise HostPathRefused(f"{path} is larger than {limit} bytes; at most {limit} are mounted")
    return data


def host_path_problems(
    spec: Mapping[str, Any], base: Path | None, private: Iterable[Path] = ()
) -> list[Problem]:
    """Every file source, volume source or volume path in ``spec`` that is refused."""
    kept = list(private)
    problems: list[Problem] = []
    for cname, container in (spec.get("containers") or {}).items():
        here: FieldPath = ("containers", cname)
        for target, file in (container.get("files") or {}).items():
            if _climbs(str(target)):
                problems.append(
                    ((*here, "files", target), f"target {target!r} may not contain '..'")
                )
            if "source" not in file:
                continue
            try:
                path = resolve_source(base, str(file["source"]), kept)
            except HostPathRefused as exc:
                problems.append(((*here, "files", target, "source"), str(exc)))
                continue
            problem = _not_a_regular_file(path)
            if problem:
                problems.append(((*here, "files", target, "source"), problem))
        for target, volume in (container.get("volumes") or {}).items():
            field: FieldPath = (*here, "volumes", target)
            if _climbs(str(target)):
                problems.append((field, f"target {target!r} may not contain '..'"))
            problem = _volume_source_problem(str(volume.get("source", "")))
            if problem:
                problems.append(((*field, "source"), problem))
            sub = volume.get("path")
            if sub is not None and _climbs(str(sub)):
                problems.append(
                    ((*field, "path"), f"path {sub!r} (inside the volume) may not contain '..'")
                )
    return problems


def _not_a_regular_file(path: Path) -> str | None:
    """Why an existing ``path`` cannot be a file source; a missing one is reported at apply."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISDIR(mode):
        return f"{path} is a directory; files.source must name a file"
    if not stat.S_ISREG(mode):
        return f"{path} is not a regular file (a FIFO or a device, say)"
    return None


def _climbs(path: str) -> bool:
    return ".." in PurePosixPath(path.replace("\\", "/")).parts


def _volume_source_problem(source: str) -> str | None:
    if _WHOLE_PLACEHOLDER.fullmatch(source):
        parts = references(source)
        if parts and len(parts[0]) >= 2 and parts[0][0] == "resources":
            return None
    elif "$" not in source and _VOLUME_NAME.fullmatch(source) and source not in (".", ".."):
        return None
    return (
        f"volume source {source!r} must be a volume resource (${{resources.<name>}}) or a "
        "volume name; host directories cannot be mounted from a Score file"
    )


__all__ = ["HostPathRefused", "host_path_problems", "read_source_file", "resolve_source"]
