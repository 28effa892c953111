"""Score's rules beyond the schema, and the conversion of deprecated list forms.

Each function returns problems as (field path, message) so the loader can attach
file positions and report them all together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from itertools import chain
from typing import Any

from podium.workload.placeholders import raw_references, split_path
from podium.workload.source import FieldPath, Positions

Problem = tuple[FieldPath, str]

#: Output keys of a resource: letters, digits, '_', '-' (and '.' when escaped as '\.').
_OUTPUT_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")


def list_form_problems(spec: Any) -> list[Problem]:
    """Items of the deprecated list forms need a unique ``target``.

    Runs beside schema validation (the schema does not require ``target``), so it
    tolerates any structure.
    """
    problems: list[Problem] = []
    containers = spec.get("containers") if isinstance(spec, dict) else None
    for cname, container in (containers or {}).items() if isinstance(containers, dict) else ():
        for section in ("files", "volumes"):
            items = container.get(section) if isinstance(container, dict) else None
            if not isinstance(items, list):
                continue
            seen: set[str] = set()
            for index, item in enumerate(items):
                here: FieldPath = ("containers", cname, section, index)
                target = item.get("target") if isinstance(item, dict) else None
                if not isinstance(target, str) or not target:
                    problems.append(
                        (here, f"each item of the list form of {section} needs a 'target' path")
                    )
                elif target in seen:
                    problems.append(((*here, "target"), f"target {target!r} is listed twice"))
                seen.add(target if isinstance(target, str) else "")
    return problems


def normalise_lists(spec: dict[str, Any], positions: Positions) -> None:
    """Turn deprecated ``files``/``volumes`` lists (items with ``target``) into maps, in place.

    Call after validation. Positions recorded for ``files.0`` are copied to
    ``files.<target>`` so errors about the converted entry point at the right line.
    """
    for cname, container in spec.get("containers", {}).items():
        for section in ("files", "volumes"):
            items = container.get(section)
            if not isinstance(items, list):
                continue
            converted: dict[str, Any] = {}
            for index, item in enumerate(items):
                target = item["target"]
                converted[target] = {k: v for k, v in item.items() if k != "target"}
                here: FieldPath = ("containers", cname, section, index)
                _alias_positions(positions, here, ("containers", cname, section, target))
            container[section] = converted


def _alias_positions(positions: Positions, old: FieldPath, new: FieldPath) -> None:
    for key, value in list(positions.items()):
        if key[: len(old)] == old:
            positions.setdefault(new + key[len(old) :], value)


def expandable_fields(spec: Mapping[str, Any]) -> Iterator[tuple[FieldPath, str]]:
    """Every string Score expands placeholders in, with its field path."""
    yield from _container_fields(spec)
    for rname in spec.get("resources") or {}:
        yield from _params_fields(spec, rname)


def _container_fields(spec: Mapping[str, Any]) -> Iterator[tuple[FieldPath, str]]:
    for cname, container in spec.get("containers", {}).items():
        for key, value in (container.get("variables") or {}).items():
            yield ("containers", cname, "variables", key), value
        for target, file in (container.get("files") or {}).items():
            if "content" in file and not file.get("noExpand"):
                yield ("containers", cname, "files", target, "content"), file["content"]
        for target, volume in (container.get("volumes") or {}).items():
            yield ("containers", cname, "volumes", target, "source"), volume["source"]


def _params_fields(spec: Mapping[str, Any], rname: str) -> Iterator[tuple[FieldPath, str]]:
    params = spec["resources"][rname].get("params") or {}
    return _strings(("resources", rname, "params"), params)


def _strings(here: FieldPath, value: Any) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(value, str):
        yield here, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):  # most params: no generator per leaf
                yield (*here, str(key)), item
            else:
                yield from _strings((*here, str(key)), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings((*here, index), item)


def check_placeholders(
    spec: Mapping[str, Any], params_paths: Mapping[str, Sequence[Sequence[str]]] | None = None
) -> list[Problem]:
    """Every placeholder must be rooted at metadata or resources and name something that exists.

    ``params_paths`` may give, by resource name, the placeholder paths of the resource's
    params as already parsed (``ResourceRequest.references()``): a resource whose paths
    all name outputs of known resources is then not walked again (the usual case).
    """
    problems: list[Problem] = []
    resources: Mapping[str, Any] = spec.get("resources") or {}  # a dict: fast lookups
    metadata = spec.get("metadata", {})
    known = params_paths or {}
    walked = chain(
        _container_fields(spec),
        *(
            _params_fields(spec, rname)
            for rname in resources
            if rname not in known or not all(_known_output(p, resources) for p in known[rname])
        ),
    )
    for here, template in walked:
        for inner in raw_references(template):
            message = _placeholder_problem(inner, metadata, resources)
            if message:
                problems.append((here, message))
    return problems


def _known_output(parts: Sequence[str], resources: Mapping[str, Any]) -> bool:
    """Whether a placeholder's path names a known resource's output (so it is fine)."""
    return (
        len(parts) > 1
        and parts[0] == "resources"
        and "" not in parts
        and parts[1] in resources
        and all(_OUTPUT_KEY.fullmatch(part) for part in parts[2:])
    )


def unexpanded_placeholders(spec: Mapping[str, Any]) -> list[Problem]:
    """``${...}`` in ``command`` or ``args``, which Score does not expand (warnings, not errors).

    Score expands placeholders in variables, file contents, volume sources and
    resource params only; in ``command`` and ``args`` the text reaches the process
    as written. That is usually a mistake, but it can be meant (a shell script
    that expands its own ``${VAR}``), so it is a warning.
    """
    problems: list[Problem] = []
    for cname, container in (spec.get("containers") or {}).items():
        for section in ("command", "args"):
            for index, item in enumerate(container.get(section) or []):
                inner = raw_references(item) if isinstance(item, str) else []
                if inner:
                    shown = "${" + inner[0] + "}"
                    problems.append(
                        (
                            ("containers", cname, section, index),
                            f"{shown} in {section} is not expanded: Score expands placeholders "
                            "only in variables, files, volume sources and resource params, so "
                            "the process gets the text as written; pass the value in a variable "
                            "and read it from the environment",
                        )
                    )
    return problems


def _placeholder_problem(
    inner: str, metadata: Mapping[str, Any], resources: Mapping[str, Any]
) -> str | None:
    parts = split_path(inner)
    root = parts[0]
    if _known_output(parts, resources):  # the usual placeholder: no message to build
        return None
    shown = "${" + inner + "}"
    literal = "$${" + inner + "}"
    if not inner.strip():
        return f"placeholder {shown} is empty; write {literal} for the literal text"
    if root not in ("metadata", "resources"):
        return (
            f"placeholder {shown} must start with 'metadata.' or 'resources.'; "
            f"write {literal} for the literal text"
        )
    if len(parts) < 2 or not parts[1]:
        needs = "a metadata key" if root == "metadata" else "a resource name"
        return f"placeholder {shown} needs {needs} after '{root}.'"
    if any(not part for part in parts):
        return f"placeholder {shown} has an empty part (two dots in a row, or a trailing dot)"
    if root == "resources":
        name = parts[1]
        if name not in resources:
            known = (
                ", ".join(sorted(resources))
                if resources
                else "none (the workload declares no resources)"
            )
            return f"placeholder {shown} names no resource {name!r}; known: {known}"
        bad = [part for part in parts[2:] if not _OUTPUT_KEY.fullmatch(part)]
        if bad:
            return (
                f"placeholder {shown}: output key {bad[0]!r} may only use letters, digits, "
                "'_', '-' and '.'"
            )
        return None
    return _metadata_problem(shown, metadata, parts[1:])


def _metadata_problem(shown: str, metadata: Mapping[str, Any], keys: list[str]) -> str | None:
    current: Any = metadata
    walked = "metadata"
    for key in keys:
        if not isinstance(current, dict):
            return f"placeholder {shown}: {walked} is not a mapping, so it has no key {key!r}"
        if key not in current:
            known = ", ".join(sorted(map(str, current))) or "none"
            return f"placeholder {shown} names no key {key!r} in {walked}; known: {known}"
        current = current[key]
        walked += "." + key
    return None


def check_before(spec: Mapping[str, Any]) -> list[Problem]:
    """``before`` may only name other existing containers, without cycles."""
    problems: list[Problem] = []
    containers = spec.get("containers", {})
    graph: dict[str, set[str]] = {}
    for cname, container in containers.items():
        graph[cname] = set()
        for other in container.get("before") or {}:
            here: FieldPath = ("containers", cname, "before", other)
            if other == cname:
                problems.append((here, f"container {cname!r} cannot wait for itself"))
            elif other not in containers:
                known = ", ".join(sorted(containers))
                problems.append((here, f"names no container {other!r}; containers: {known}"))
            else:
                graph[cname].add(other)
    cycle = find_cycle(graph)
    if cycle:
        here = ("containers", cycle[0], "before", cycle[1])
        problems.append((here, f"containers wait for each other in a cycle: {' -> '.join(cycle)}"))
    return problems


def check_resource_cycles(
    spec: Mapping[str, Any], depends: Mapping[str, set[str]]
) -> list[Problem]:
    """Resource params may refer to other resources, but not to themselves or in a cycle."""
    problems: list[Problem] = []
    graph: dict[str, set[str]] = {}
    resources = spec.get("resources") or {}
    for rname in resources:
        refs = depends.get(rname, set())
        if rname in refs:
            problems.append(
                (
                    ("resources", rname, "params"),
                    f"resource {rname!r} refers to itself in its params",
                )
            )
        graph[rname] = {other for other in refs if other in resources and other != rname}
    cycle = find_cycle(graph)
    if cycle:
        problems.append(
            (
                ("resources", cycle[0], "params"),
                f"resources refer to each other's outputs in a cycle: {' -> '.join(cycle)}",
            )
        )
    return problems


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a closed path ``[a, b, a]``, or None. Deterministic."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        # Iterative DFS keeps deep chains from hitting the recursion limit.
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph.get(start, ())))]
        on_path = [start]
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                on_path.pop()
                done.add(node)
                continue
            nxt = pending.pop(0)
            if nxt in on_path:
                return [*on_path[on_path.index(nxt) :], nxt]
            if nxt not in done:
                stack.append((nxt, sorted(graph.get(nxt, ()))))
                on_path.append(nxt)
    return None


__all__ = [
    "check_before",
    "check_placeholders",
    "check_resource_cycles",
    "expandable_fields",
    "find_cycle",
    "list_form_problems",
    "normalise_lists",
    "unexpanded_placeholders",
]
