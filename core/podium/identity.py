"""Who owns a workload and who runs a command, decided from trusted inputs only.

* The **owner** of a workload is a team or a directory. ``podium.toml`` maps Score
  file locations to teams (``[teams.<name>] paths = ["teams/payments/**"]``, globs
  relative to the platform root); a file no team claims is owned by its directory
  relative to the platform root (``"."`` next to ``podium.toml``, ``"teams/a"``,
  ``"../shop"`` outside the root), so the files of one directory share an owner.
  A Score file never decides its owner: an owner annotation in it is a claim that
  must equal the mapping. A workload with no file (Score text handed to the API)
  has the owner its trusted caller names, or none.
* The **actor** of a run (who ran it, for history and the lock) is
  ``PODIUM_ACTOR``, else git's ``user.email`` in the platform root, else
  ``user@host``. A server would pass its authenticated identity as ``PODIUM_ACTOR``.
"""

from __future__ import annotations

import fnmatch
import getpass
import os
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from podium.errors import ConfigError, WorkloadError

if TYPE_CHECKING:
    from podium.config.models import TeamSection
    from podium.workload.model import Workload

ACTOR_ENV = "PODIUM_ACTOR"
#: The annotation a Score file may use to state (not decide) its owner.
OWNER_ANNOTATION = "podium.dev/owner"
_GIT_TIMEOUT = 5.0


# ------------------------------------------------------------------------ actor
def actor(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> str:
    """Who runs this command: ``PODIUM_ACTOR``, else git's ``user.email``, else ``user@host``."""
    env = os.environ if environ is None else environ
    given = _printable(env.get(ACTOR_ENV, ""))
    if given:
        return given
    email = _git_email(env, cwd)
    if email:
        return email
    return f"{_user()}@{socket.gethostname()}"


def _printable(text: str) -> str:
    # History and lock records show this; control characters would garble them.
    return "".join(c for c in text if c.isprintable()).strip()


def _git_email(env: Mapping[str, str], cwd: Path | None) -> str:
    """``git config user.email`` as seen from ``cwd`` (repository, then global config)."""
    try:
        found = subprocess.run(
            ["git", "config", "--get", "user.email"],
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git, or it hung: not an identity
        return ""
    return _printable(found.stdout) if found.returncode == 0 else ""


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for this uid (containers)
        return str(os.getuid())


# ------------------------------------------------------------------------ owner
def owner_of_path(path: Path, root: Path, teams: Mapping[str, TeamSection]) -> str:
    """The owner of the Score file at ``path``: its team, else its directory under ``root``.

    ``root`` must be resolved. Raises :class:`ConfigError` when two teams claim the
    file, or when the file's directory has the name of a team no path maps it to
    (a directory named like a team must not pass for it).
    """
    relative = PurePosixPath(Path(os.path.relpath(path.resolve(), root)).as_posix())
    claimed = [name for name, team in teams.items() if _matches_any(relative, team.paths)]
    if len(claimed) > 1:
        raise ConfigError(
            f"Score file {relative} is claimed by teams {', '.join(sorted(claimed))}; "
            "a file has exactly one owner",
            field=f"teams.{sorted(claimed)[1]}.paths",
            hint="make the [teams.<name>] paths globs disjoint",
        )
    if claimed:
        return claimed[0]
    directory = str(relative.parent)
    if directory in teams:
        raise ConfigError(
            f"Score file {relative} is in directory {directory!r}, which has the name of a team "
            "whose paths do not include it",
            field=f"teams.{directory}.paths",
            hint=f'add "{directory}/**" to the team\'s paths, or rename the directory',
        )
    return directory


def _matches_any(relative: PurePosixPath, patterns: list[str]) -> bool:
    """Whether a glob matches the file or one of its parent directories."""
    candidates = [relative, *relative.parents[:-1]]  # parents[-1] is "."
    for pattern in patterns:
        parts = PurePosixPath(pattern).parts
        if any(_glob_match(parts, candidate.parts) for candidate in candidates):
            return True
    return False


def _glob_match(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    """Segment-wise glob: ``**`` spans any number of segments, other segments use fnmatch."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_glob_match(rest, parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _glob_match(rest, parts[1:])


def workload_owner(
    workload: Workload,
    root: Path,
    teams: Mapping[str, TeamSection],
    given: str | None = None,
) -> str | None:
    """The owner of ``workload``, after checking the owner annotation it may claim.

    A workload read from a file is owned as its path maps (``given`` is ignored:
    the file's location decides). One without a file takes ``given``, the owner
    its trusted caller names, or has no owner (``None``). An annotation that
    names another owner is refused with the file and line.
    """
    owner = owner_of_path(workload.path, root, teams) if workload.path is not None else given
    claim = workload.annotations.get(OWNER_ANNOTATION)
    if claim is not None and claim != owner:
        where = "its location maps it to" if workload.path is not None else "the caller gave"
        raise WorkloadError(
            f"the owner annotation claims {claim!r}, but {where} "
            f"{owner!r}; a Score file cannot choose its owner",
            location=workload.location("metadata", "annotations", OWNER_ANNOTATION),
            field=f"metadata.annotations.{OWNER_ANNOTATION}",
            hint="remove the annotation, or ask the platform team to map this file "
            "to that team in [teams] of podium.toml",
        )
    return owner


__all__ = ["ACTOR_ENV", "OWNER_ANNOTATION", "actor", "owner_of_path", "workload_owner"]
