"""A loaded Score workload and the resource requests it makes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.errors import Location
from podium.workload.placeholders import references

FieldPath = tuple[str | int, ...]


def resource_uid(
    resource_type: str, resource_class: str, workload: str, name: str, id: str | None
) -> str:
    """Score's resource identity: ``type.class#workload.name``, or ``type.class#id`` when shared."""
    owner = id if id is not None else f"{workload}.{name}"
    return f"{resource_type}.{resource_class}#{owner}"


def _param_references(value: Any) -> list[list[str]]:
    if isinstance(value, str):
        return references(value)
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in _param_references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _param_references(item)]
    return []


@dataclass(frozen=True)
class ResourceRequest:
    """One entry of a workload's ``resources``: what it needs, not how it is provided.

    ``params`` are raw (placeholders unexpanded); :func:`podium.workload.render.resolve_params`
    expands them once the resources they reference exist.
    """

    name: str
    workload: str
    type: str
    resource_class: str
    id: str | None
    params: dict[str, Any]
    annotations: dict[str, str]
    uid: str
    location: Location | None = field(default=None, compare=False)
    #: The owning workload's ``metadata``, for ``${metadata...}`` in params.
    workload_metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: uids of the owning workload's resources by name, for ``${resources.<name>}`` in params.
    sibling_uids: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def shared(self) -> bool:
        """Whether the request names an ``id``: workloads with the same type/class/id share it."""
        return self.id is not None

    def references(self) -> list[list[str]]:
        """Every placeholder path in ``params`` (parsed once: the graph and the schema
        checks both ask)."""
        cached: list[list[str]] | None = self.__dict__.get("_references")
        if cached is None:
            cached = _param_references(self.params)
            object.__setattr__(self, "_references", cached)  # frozen, so bypass it
        return cached

    def referenced_resources(self) -> frozenset[str]:
        """Names of the workload's resources this one's params refer to, itself included
        (validation refuses a resource that refers to itself).

        Computed once: validation, the planner and the engine ask for every resource,
        and parsing placeholders is the expensive part.
        """
        cached: frozenset[str] | None = self.__dict__.get("_referenced")
        if cached is None:
            cached = frozenset(
                ref[1] for ref in self.references() if len(ref) >= 2 and ref[0] == "resources"
            )
            object.__setattr__(self, "_referenced", cached)  # frozen, so bypass it
        return cached

    def depends_on(self) -> frozenset[str]:
        """Names of the workload's other resources this one's params refer to (computed once)."""
        cached: frozenset[str] | None = self.__dict__.get("_depends_on")
        if cached is None:
            referenced = self.referenced_resources()
            # the same set when it does not name itself (it never does once validated)
            cached = referenced - {self.name} if self.name in referenced else referenced
            object.__setattr__(self, "_depends_on", cached)  # frozen, so bypass it
        return cached


@dataclass
class Workload:
    """A validated Score workload.

    ``spec`` is the validated document with the deprecated list forms of ``files``
    and ``volumes`` converted to maps keyed by target path, as Score does.
    """

    name: str
    spec: dict[str, Any]
    path: Path | None
    source: str
    annotations: dict[str, str]
    containers: dict[str, dict[str, Any]]
    resources: dict[str, ResourceRequest]
    ports: dict[str, dict[str, Any]]
    positions: Mapping[FieldPath, tuple[int, int]] = field(default_factory=dict, repr=False)
    display_path: str = "<string>"

    @property
    def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self.spec.get("metadata", {})
        return metadata

    @property
    def base_dir(self) -> Path:
        """The Score file's directory, where ``files.*.source`` must lie (the current
        directory for a workload without a file, which may name no file source at all)."""
        return self.path.parent if self.path is not None else Path.cwd()

    def location(self, *field_path: str | int) -> Location | None:
        """The file position of a field, or of its nearest enclosing field that has one."""
        parts: FieldPath = tuple(field_path)
        while True:
            position = self.positions.get(parts)
            if position is not None:
                return Location(self.display_path, *position)
            if not parts:
                return Location(self.display_path)
            parts = parts[:-1]

    def digest(self) -> str:
        """A stable sha256 of the normalised spec: equal specs give equal digests."""
        canonical = json.dumps(
            self.spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


__all__ = ["ResourceRequest", "Workload", "resource_uid"]
