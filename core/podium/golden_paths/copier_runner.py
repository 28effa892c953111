"""Run copier on a workload template: scaffold a service, update one.

Copier is an optional dependency (``pip install 'podium[templates]'``), imported only
here. While it runs, its git commands see the template's URL
(``podium-template://NAME.git``) rewritten to a temporary repository built from the
versions the installed plugin ships (git's ``url.<base>.insteadOf``, passed to the
commands copier starts through plumbum's environment): the answers file keeps a URL
that means the same on every machine. Copier changes the working directory while it
renders, so this is for the CLI, not for threads of a long-running process.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from podium.errors import InputError, PodiumError
from podium.golden_paths.provenance import ANSWERS_FILE, TemplateRef, read_answers
from podium.golden_paths.repository import build_repository, pick_version, template_url
from podium.platform.contract import WorkloadTemplate


class TemplateConflictError(PodiumError):
    """``podium template update`` merged the new version but left conflicts to resolve."""


@dataclass(frozen=True)
class Scaffolded:
    """What ``podium new`` created."""

    directory: Path
    template: TemplateRef
    git_initialised: bool


@dataclass
class Updated:
    """What ``podium template update`` did to a service."""

    directory: Path
    before: TemplateRef
    after: TemplateRef
    changed: list[str] = field(default_factory=list)  #: paths the update changed
    conflicts: list[str] = field(default_factory=list)  #: paths with conflict markers


def _copier() -> Any:
    try:
        import copier
    except ImportError:
        raise PodiumError(
            "workload templates need copier, which is not installed",
            hint="pip install 'podium[templates]'",
        ) from None
    return copier


@contextmanager
def template_source(template: WorkloadTemplate) -> Iterator[str]:
    """The template's URL, resolvable by the git commands copier runs inside the block."""
    from plumbum import local

    url = template_url(template.name)
    with TemporaryDirectory(prefix=f"podium-template-{template.name}-") as temporary:
        repository = build_repository(template, Path(temporary))
        count = int(local.env.get("GIT_CONFIG_COUNT", "0") or 0)
        rewrite = {
            "GIT_CONFIG_COUNT": str(count + 1),
            f"GIT_CONFIG_KEY_{count}": f"url.{repository.as_posix()}.insteadOf",
            f"GIT_CONFIG_VALUE_{count}": url,
        }
        with local.env(**rewrite):
            yield url


def scaffold(
    template: WorkloadTemplate,
    directory: Path,
    *,
    version: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> Scaffolded:
    """Generate a service from ``template`` into ``directory`` and commit it to git."""
    copier = _copier()
    from plumbum import ProcessExecutionError

    if directory.exists() and any(directory.iterdir()):
        raise InputError(f"{directory} exists and is not empty", hint="pick a new directory")
    tag = pick_version(template, version)
    with template_source(template) as url:
        try:
            copier.run_copy(
                url,
                directory,
                data=dict(data or {}),
                vcs_ref=tag,
                defaults=True,
                quiet=True,
                unsafe=False,
            )
        except (copier.errors.CopierError, ValueError) as exc:
            raise InputError(f"workload template {template.name!r}: {exc}") from None
        except ProcessExecutionError as exc:
            raise PodiumError(f"workload template {template.name!r}: git failed: {exc}") from None
    ref, _ = read_answers(directory)
    initialised = False
    if not _in_git_repository(directory):
        _git(directory, "init", "--quiet")
        initialised = True
    _git(directory, "add", "--all", ".")
    if initialised:
        _commit(directory, f"Generate from workload template {ref}")
    return Scaffolded(directory, ref, initialised)


def update(template: WorkloadTemplate, directory: Path, *, version: str | None = None) -> Updated:
    """Merge a later version of the service's template into ``directory`` (copier update).

    The service must be a clean git checkout: its changes are kept, and where they
    and the template's changed the same lines both are left with conflict markers
    (and as unmerged in git's index) for the author to resolve.
    """
    copier = _copier()
    from plumbum import ProcessExecutionError

    before, _ = read_answers(directory)
    tag = pick_version(template, version)
    try:
        pick_version(template, before.version)
    except InputError:
        raise InputError(
            f"{directory}: generated from {before}, which the installed plugin no longer "
            "ships: copier merges against the version a service came from",
            hint="install a plugin version that still ships it, or ask the platform team "
            "to keep it",
        ) from None
    with template_source(template):
        try:
            copier.run_update(
                directory,
                vcs_ref=tag,
                defaults=True,
                overwrite=True,
                skip_answered=True,
                conflict="inline",
                quiet=True,
                unsafe=False,
            )
        except copier.errors.CopierError as exc:
            message = str(exc)
            hint = None
            if "dirty" in message:
                hint = "commit or stash your changes first: the update merges into a clean tree"
            raise InputError(f"{directory}: {message}", hint=hint) from None
        except ProcessExecutionError as exc:
            raise PodiumError(f"{directory}: git failed during the update: {exc}") from None
    after, _ = read_answers(directory)
    status = _git(directory, "status", "--porcelain", "--", ".")
    changed = sorted({line[3:] for line in status.splitlines() if line.strip()})
    unmerged = _git(directory, "diff", "--name-only", "--diff-filter=U", "--", ".")
    conflicts = sorted(set(unmerged.split()) | {p for p in changed if _has_markers(directory, p)})
    return Updated(directory, before, after, changed, conflicts)


def _has_markers(directory: Path, relative: str) -> bool:
    top = Path(_git(directory, "rev-parse", "--show-toplevel").strip())
    path = top / relative
    if not path.is_file():
        return False
    lines = path.read_bytes().splitlines()
    return any(line.startswith(b"<<<<<<< ") for line in lines) and any(
        line.startswith(b">>>>>>> ") for line in lines
    )


def _in_git_repository(directory: Path) -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode == 0 and done.stdout.strip() == "true"


def _commit(directory: Path, message: str) -> None:
    """Commit as the user, or as Podium where git knows no identity."""
    identity: list[str] = []
    for key, fallback in (("user.name", "Podium"), ("user.email", "podium@localhost")):
        known = subprocess.run(
            ["git", "config", key], cwd=directory, capture_output=True, text=True, check=False
        )
        if not known.stdout.strip():
            identity += ["-c", f"{key}={fallback}"]
    _git(directory, *identity, "commit", "--quiet", "--no-verify", "-m", message)


def _git(directory: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=directory, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PodiumError(f"git {' '.join(args)} failed in {directory}: {done.stderr.strip()}")
    return done.stdout


__all__ = ["ANSWERS_FILE", "Scaffolded", "TemplateConflictError", "Updated", "scaffold", "update"]
