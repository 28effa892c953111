"""``podium.lock``: the exact plugin builds a platform was verified with.

``podium plugins lock`` records, for every allowed and loaded entry-point
plugin, its distribution, version and a sha256 over its installed files (and,
for an editable install, over the source directory its code is imported from).
While the lock exists, the manager refuses -- before importing anything -- a
plugin whose version or files differ, and a plugin the lock does not list.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.errors import ConfigError, IncompatiblePluginError

if TYPE_CHECKING:
    from podium.plugins.discovery import Candidate

LOCK_NAME = "podium.lock"
LOCK_FORMAT = 1
_SKIP_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class LockedPlugin:
    name: str
    distribution: str
    version: str
    sha256: str
    files: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "distribution": self.distribution,
            "version": self.version,
            "sha256": self.sha256,
            "files": dict(sorted(self.files.items())),
        }


def fingerprint(candidate: Candidate) -> LockedPlugin:
    """Hash what would run for ``candidate``: its installed files and editable source."""
    files: dict[str, str] = {}
    dist = candidate.dist
    covered: set[Path] = set()
    if dist is not None:
        for entry in dist.files or ():
            path = Path(str(dist.locate_file(entry)))
            if _skipped(path) or not path.is_file():
                continue
            files[str(entry)] = _hash_file(path)
            covered.add(path.resolve())
    source = _source_dir(candidate.module)
    if source is not None:
        for path in sorted(source.rglob("*")):
            if _skipped(path) or not path.is_file() or path.resolve() in covered:
                continue
            files["src:" + path.relative_to(source.parent).as_posix()] = _hash_file(path)
    total = hashlib.sha256()
    for key in sorted(files):
        total.update(f"{key}\0{files[key]}\n".encode())
    return LockedPlugin(
        name=candidate.name,
        distribution=candidate.distribution,
        version=candidate.version,
        sha256=total.hexdigest(),
        files=files,
    )


def write_lock(path: Path, plugins: list[LockedPlugin]) -> None:
    """Write the lock deterministically: same plugins, same bytes."""
    data = {
        "format": LOCK_FORMAT,
        "plugins": {p.name: p.to_dict() for p in sorted(plugins, key=lambda p: p.name)},
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_lock(path: Path) -> dict[str, LockedPlugin]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != LOCK_FORMAT:
            raise ValueError(f"unsupported lock format {data.get('format')!r}")
        return {
            name: LockedPlugin(
                name=name,
                distribution=entry["distribution"],
                version=entry["version"],
                sha256=entry["sha256"],
                files=dict(entry["files"]),
            )
            for name, entry in data["plugins"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"cannot read the plugin lock: {exc}",
            field="podium.lock",
            hint="run `podium plugins lock` again",
        ) from None


def verify(candidate: Candidate, locked: dict[str, LockedPlugin], lock_path: Path) -> None:
    """Raise IncompatiblePluginError saying what differs from the lock."""

    def refuse(reason: str) -> IncompatiblePluginError:
        return IncompatiblePluginError(
            f"{reason} (lock: {lock_path})",
            plugin=candidate.name,
            distribution=candidate.distribution,
            version=candidate.version,
            hint="if the change is intended, run `podium plugins lock` again",
        )

    entry = locked.get(candidate.name)
    if entry is None:
        raise refuse("is not in podium.lock")
    if entry.distribution != candidate.distribution:
        raise refuse(
            f"comes from distribution {candidate.distribution}, "
            f"but the lock has {entry.distribution}"
        )
    if entry.version != candidate.version:
        raise refuse(f"version changed: {entry.version} -> {candidate.version}")
    current = fingerprint(candidate)
    if current.sha256 == entry.sha256:
        return
    changed = sorted(
        key
        for key in set(entry.files) | set(current.files)
        if entry.files.get(key) != current.files.get(key)
    )
    shown = ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else "")
    noun = "file" if len(changed) == 1 else "files"
    raise refuse(f"{len(changed)} {noun} changed since locked: {shown}")


def _skipped(path: Path) -> bool:
    return path.suffix in _SKIP_SUFFIXES or "__pycache__" in path.parts


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _source_dir(module: str) -> Path | None:
    """The directory of the entry point's top-level package, found without importing it."""
    import importlib.util

    top = module.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None  # a single-module plugin is covered by its distribution's files
    locations = list(spec.submodule_search_locations)
    return Path(locations[0]) if locations else None
