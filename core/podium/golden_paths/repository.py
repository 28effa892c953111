"""A template's shipped versions as a git repository with one commit and tag per version.

Copier updates a service by rendering the version it was generated from and the new
one and merging the difference into the service: it needs both versions as tags of a
git repository. A plugin ships each version as a directory (package data); the
repository is built here, in a temporary directory, with fixed authors and dates so
every build of the same versions has the same commits (copier records the tag; a
rebuilt repository must give the same files for it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path

from packaging.version import InvalidVersion, Version

from podium.errors import InputError, PodiumError
from podium.platform.contract import WorkloadTemplate

#: the URL copier records as the template's ``_src_path``: stable wherever the service
#: is checked out, pointed at the temporary repository with git's ``insteadOf``
URL_PREFIX = "podium-template://"
URL_SUFFIX = ".git"

#: git run on the temporary repository ignores the user's and system's configuration
#: (signing, hooks, templates) so that its commits are the same on every machine
_GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Podium",
    "GIT_AUTHOR_EMAIL": "podium@localhost",
    "GIT_COMMITTER_NAME": "Podium",
    "GIT_COMMITTER_EMAIL": "podium@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+00:00",
}


def template_url(name: str) -> str:
    """``podium-template://python-web.git``: how a generated service names its template."""
    return f"{URL_PREFIX}{name}{URL_SUFFIX}"


def template_name(url: str) -> str | None:
    """The template name in a :func:`template_url`, or ``None`` for any other source."""
    if url.startswith(URL_PREFIX) and url.endswith(URL_SUFFIX):
        return url[len(URL_PREFIX) : -len(URL_SUFFIX)] or None
    return None


def versions(template: WorkloadTemplate) -> dict[Version, Traversable | Path]:
    """The template's version directories by version, oldest first."""
    source = template.source
    if not source.is_dir():
        raise PodiumError(
            f"workload template {template.name!r}: its source {source} is not a directory"
        )
    found: dict[Version, Traversable | Path] = {}
    for child in source.iterdir():
        if not child.is_dir():
            continue
        try:
            found[Version(child.name)] = child
        except InvalidVersion:
            continue  # not a version directory (a README, shared files)
    if not found:
        raise PodiumError(
            f"workload template {template.name!r} ships no version",
            hint="its source needs one directory per version, named like 1.0.0",
        )
    return dict(sorted(found.items()))


def pick_version(template: WorkloadTemplate, wanted: str | None) -> str:
    """The directory name of version ``wanted`` (default: the latest, pre-releases aside)."""
    shipped = versions(template)
    names = {version: Path(str(directory)).name for version, directory in shipped.items()}
    if wanted is None:
        final = [v for v in shipped if not v.is_prerelease] or list(shipped)
        return names[final[-1]]
    try:
        version = Version(wanted)
    except InvalidVersion:
        raise InputError(f"{wanted!r} is not a version (PEP 440, like 1.0.0)") from None
    if version not in shipped:
        raise InputError(
            f"workload template {template.name!r} has no version {wanted}",
            hint="versions: " + ", ".join(names.values()),
        )
    return names[version]


def build_repository(template: WorkloadTemplate, into: Path) -> Path:
    """Create the git repository of every shipped version in ``into`` (an empty directory)."""
    shipped = versions(template)
    _git(into, "init", "--quiet", "--initial-branch=main")
    for version, directory in shipped.items():
        for child in into.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        _copy_tree(directory, into)
        _git(into, "add", "--all", "--force")
        message = f"{template.name} {version}"
        _git(into, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", message)
        _git(into, "tag", Path(str(directory)).name)
    return into


def _copy_tree(source: Traversable | Path, target: Path) -> None:
    for child in source.iterdir():
        if child.name in ("__pycache__", ".git"):
            continue
        destination = target / child.name
        if child.is_dir():
            destination.mkdir()
            _copy_tree(child, destination)
        else:
            destination.write_bytes(child.read_bytes())


def _git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **_GIT_ENV, **(env or {})}
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise PodiumError(f"git {args[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout
