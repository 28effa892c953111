"""The platform's own workloads: the Score files ``[platform] workloads`` lists.

A Score file posted to the API has no directory, so a workload that runs files from its
repository (the shop runs ``app/web.py``) can only be deployed from the platform's own
checkout. Callers choose those workloads by *name*; the files are found exactly as the
CLI finds them (globs relative to the config file), so nothing in a request ever becomes
a path.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from podium.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.workload.model import Workload


def score_files(platform: Platform) -> list[Path]:
    """The Score files of ``[platform] workloads``, in the order the CLI plans them."""
    base = platform.config_path.parent if platform.config_path else platform.root
    found: list[Path] = []
    for pattern in platform.config.platform.workloads:
        matches = sorted(glob.glob(str(base / pattern), recursive=True))
        if not matches:
            raise InputError(f"no Score file matches {pattern!r}", field="platform.workloads")
        found.extend(Path(m) for m in matches)
    return found


def platform_workloads(platform: Platform) -> dict[str, Workload]:
    """The platform's workloads by name, read from their files now (an edited file counts)."""
    return {w.name: w for w in platform.load_workloads(score_files(platform))}


def choose(platform: Platform, names: Sequence[str] | None) -> list[Workload]:
    """The named platform workloads (all of them for ``None`` or no names).

    A name that is not one of the platform's workloads is refused: a request chooses
    among the files the platform lists, it never names a file.
    """
    known = platform_workloads(platform)
    if not known:
        raise NotFoundError(
            "this platform lists no workloads of its own",
            hint="set [platform] workloads in podium.toml, or post a Score file",
        )
    if not names:
        return list(known.values())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise NotFoundError(
            "not a workload of this platform: " + ", ".join(repr(n[:64]) for n in unknown[:5]),
            hint="the platform's workloads: " + ", ".join(sorted(known)),
        )
    return [known[n] for n in dict.fromkeys(names)]


__all__ = ["choose", "platform_workloads", "score_files"]
