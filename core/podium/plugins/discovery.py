"""Find installed plugins without importing them.

A plugin is an entry point in group ``podium.plugins``. Discovery reads package
metadata only; plugin code is imported later by the manager, and only for
plugins the platform allows.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.metadata import Distribution, EntryPoint

GROUP = "podium.plugins"

_cache: tuple[Candidate, ...] | None = None
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Candidate:
    """An installed plugin entry point: ``name = "value"`` in ``distribution`` ``version``."""

    name: str
    value: str
    distribution: str
    version: str
    entry_point: EntryPoint = field(compare=False, repr=False)
    dist: Distribution | None = field(default=None, compare=False, repr=False)

    @property
    def module(self) -> str:
        return self.value.partition(":")[0].strip()

    def load(self) -> Any:
        """Import the plugin's code and return the object the entry point names."""
        return self.entry_point.load()


def discover() -> list[Candidate]:
    """All ``podium.plugins`` entry points, once per process, sorted by name.

    A distribution found twice on ``sys.path`` counts once (the first, as import
    would pick it).
    """
    global _cache
    with _cache_lock:
        if _cache is None:
            _cache = tuple(_scan())
        return list(_cache)


_SEPARATORS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """A distribution or plugin name as PEP 503 compares them: runs of ``-_.`` become one
    ``-``, lower case (what packaging's ``canonicalize_name`` does; importing
    ``packaging.utils`` loads its wheel-tag tables too, on every command)."""
    return _SEPARATORS.sub("-", name).lower()


def clear_cache() -> None:
    """Forget discovered plugins (tests install and remove distributions at run time)."""
    global _cache
    with _cache_lock:
        _cache = None


def _scan() -> list[Candidate]:
    import importlib.metadata as metadata

    seen: set[str] = set()
    found: list[Candidate] = []
    for dist in metadata.distributions():
        # Reading entry_points.txt is cheap; parsing METADATA (for the name) is
        # not, so only distributions that declare our group get that far.
        declared = dist.read_text("entry_points.txt")
        if not declared or GROUP not in declared:
            continue
        dist_name = dist.metadata["Name"]
        if not dist_name:
            continue  # broken metadata: nothing to attribute a plugin to
        key = canonical_name(dist_name)
        if key in seen:
            continue
        seen.add(key)
        for ep in dist.entry_points:
            if ep.group != GROUP:
                continue
            found.append(
                Candidate(
                    name=ep.name,
                    value=ep.value,
                    distribution=dist_name,
                    version=dist.version,
                    entry_point=ep,
                    dist=dist,
                )
            )
    found.sort(key=lambda c: (c.name, c.distribution))
    return found
