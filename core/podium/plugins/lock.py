"""``podium.lock``: the exact plugin builds a platform was verified with.

``podium plugins lock`` records, for every allowed and loaded entry-point
plugin, its distribution, version and a sha256 over its installed files (and,
for an editable install, over the source directory its code is imported from).
While the lock exists, the manager refuses -- before importing anything -- a
plugin whose version or files differ, and a plugin the lock does not list.

Bytecode. Python runs ``__pycache__/<module>.<tag>.pyc`` instead of the source
whenever the .pyc's header matches the source (its mtime and size, or for a
PEP 552 checked-hash .pyc the source's hash), without looking at the code the
.pyc holds: hashing sources alone lets a planted .pyc run unverified code. So
the lock also covers, for every source file, the .pyc this interpreter would
load for it. Locking first compiles each source to a *checked-hash* .pyc: it is
reproducible, and Python never rewrites it while the source is unchanged, so a
later run finds exactly the locked bytes. Verifying stays hashing, and no
command recompiles a plugin: measured on podium-local and podium-aws (about 30
files each), hashing the bytecode too adds 1-2 ms to a 6-7 ms verification,
where compiling their sources to compare would add about 40 ms to every
command. The hashes hold for one interpreter
(its cache tag and optimisation level), which the lock records; another one is
refused until the lock is made again with it. A .pyc that was locked and is
gone is refused too: Python would write an unverified one in its place.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import py_compile
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.errors import ConfigError, IncompatiblePluginError

if TYPE_CHECKING:
    from podium.plugins.discovery import Candidate

LOCK_NAME = "podium.lock"
LOCK_FORMAT = 2  #: 2: bytecode is covered (format 1 locks are refused: relock)
BYTECODE_PREFIX = "bytecode:"  #: a files key for the .pyc of the source file named after it
ABSENT = "absent"  #: the hash recorded for a .pyc that did not exist


@dataclass(frozen=True)
class LockedPlugin:
    name: str
    distribution: str
    version: str
    sha256: str
    files: dict[str, str]
    #: the interpreter's bytecode flavour the .pyc hashes hold for (see :func:`bytecode_tag`)
    bytecode: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "distribution": self.distribution,
            "version": self.version,
            "bytecode": self.bytecode,
            "sha256": self.sha256,
            "files": dict(sorted(self.files.items())),
        }


def bytecode_tag() -> str | None:
    """Which .pyc files this interpreter loads: its cache tag and optimisation level."""
    tag = sys.implementation.cache_tag
    if tag is None:
        return None  # an implementation that neither reads nor writes .pyc files
    return tag + (f".opt-{sys.flags.optimize}" if sys.flags.optimize else "")


def compile_bytecode(candidate: Candidate) -> list[str]:
    """Write a checked-hash .pyc for each of the plugin's source files; return what failed.

    A .pyc that cannot be written (a read-only install, a source with a syntax
    error) is left as it is, and the lock records whatever is there.
    """
    problems: list[str] = []
    for key, source in _plugin_files(candidate).items():
        target = _bytecode_path(source)
        if target is None:
            continue
        try:
            py_compile.compile(
                str(source),
                cfile=str(target),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
            )
        except (OSError, py_compile.PyCompileError) as exc:
            problems.append(f"{key}: cannot write checked bytecode: {exc}")
    return problems


def fingerprint(candidate: Candidate) -> LockedPlugin:
    """Hash what would run for ``candidate``: its files, editable source and bytecode."""
    files: dict[str, str] = {}
    for key, path in _plugin_files(candidate).items():
        files[key] = _hash_file(path)
        bytecode = _bytecode_path(path)
        if bytecode is not None:
            files[BYTECODE_PREFIX + key] = _hash_file(bytecode) if bytecode.is_file() else ABSENT
    total = hashlib.sha256()
    for key in sorted(files):
        total.update(f"{key}\0{files[key]}\n".encode())
    return LockedPlugin(
        name=candidate.name,
        distribution=candidate.distribution,
        version=candidate.version,
        sha256=total.hexdigest(),
        files=files,
        bytecode=bytecode_tag(),
    )


def _plugin_files(candidate: Candidate) -> dict[str, Path]:
    """The plugin's installed files and editable source by lock key, bytecode caches aside."""
    files: dict[str, Path] = {}
    dist = candidate.dist
    covered: set[Path] = set()
    if dist is not None:
        for entry in dist.files or ():
            path = Path(str(dist.locate_file(entry)))
            if _in_bytecode_cache(path) or not path.is_file():
                continue
            files[str(entry)] = path
            covered.add(path.resolve())
    source = _source_dir(candidate.module)
    if source is not None:
        for path in sorted(source.rglob("*")):
            if _in_bytecode_cache(path) or not path.is_file() or path.resolve() in covered:
                continue
            files["src:" + path.relative_to(source.parent).as_posix()] = path
    return files


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
        if data.get("format") == 1:
            raise ValueError(
                "it was written by an older Podium (format 1) that did not cover bytecode"
            )
        if data.get("format") != LOCK_FORMAT:
            raise ValueError(f"unsupported lock format {data.get('format')!r}")
        return {
            name: LockedPlugin(
                name=name,
                distribution=entry["distribution"],
                version=entry["version"],
                sha256=entry["sha256"],
                files=dict(entry["files"]),
                bytecode=entry["bytecode"],
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
    if entry.bytecode != bytecode_tag():
        raise refuse(
            f"was locked for {entry.bytecode or 'no'} bytecode, but this interpreter loads "
            f"{bytecode_tag() or 'none'}"
        )
    current = fingerprint(candidate)
    if current.sha256 == entry.sha256:
        return
    changed = _describe_changes(
        {
            key
            for key in set(entry.files) | set(current.files)
            if entry.files.get(key) != current.files.get(key)
        }
    )
    shown = ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else "")
    noun = "file" if len(changed) == 1 else "files"
    raise refuse(f"{len(changed)} {noun} changed since locked: {shown}")


def _describe_changes(keys: set[str]) -> list[str]:
    """Changed lock keys as files: a source and its bytecode count once."""
    shown = set()
    for key in keys:
        if key.startswith(BYTECODE_PREFIX):
            source = key.removeprefix(BYTECODE_PREFIX)
            if source not in keys:
                shown.add(f"{source} (bytecode)")
        else:
            shown.add(key)
    return sorted(shown)


def _in_bytecode_cache(path: Path) -> bool:
    """A file Python only loads as the cache of a source (covered through that source).

    A .pyc anywhere else is hashed like any file: Python imports a lone
    ``module.pyc`` that has no source beside it.
    """
    return "__pycache__" in path.parts


def _bytecode_path(source: Path) -> Path | None:
    """The .pyc this interpreter reads instead of ``source``, if it would look for one."""
    if source.suffix != ".py":
        return None
    try:
        return Path(importlib.util.cache_from_source(str(source)))
    except NotImplementedError:  # sys.implementation.cache_tag is None
        return None


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
