"""Loading Score workloads: parse, validate, apply Score's extra checks, check groups."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from podium.errors import InputError, InputErrors, Location, WorkloadError
from podium.workload import checks
from podium.workload.characters import control_character_problems
from podium.workload.confine import host_path_problems
from podium.workload.expansion import expansion_problems
from podium.workload.model import ResourceRequest, Workload, resource_uid
from podium.workload.schema_errors import schema_problems, surely_valid
from podium.workload.source import MAX_BYTES, FieldPath, Positions, dotted, parse_yaml


class WorkloadErrors(InputErrors, WorkloadError):
    """Several problems in one or more Score files; ``errors`` lists each WorkloadError."""


def errors_of(error: InputError) -> list[InputError]:
    """The individual errors inside ``error`` (itself, unless it bundles several)."""
    return list(error.errors) if isinstance(error, InputErrors) else [error]


def _raise_all(errors: list[InputError], *, sort: bool = False) -> None:
    if sort:
        # Report in file order, as a developer reads the file top to bottom.
        errors = sorted(errors, key=_position)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise WorkloadErrors(errors)


def _position(error: InputError) -> tuple[int, int]:
    location = error.location
    if location is None:
        return (0, 0)
    return (location.line or 0, location.column or 0)


def load_workload_file(path: Path | str, *, private_paths: Iterable[Path] = ()) -> Workload:
    """Read, validate and return the Score workload in ``path``.

    ``private_paths`` are host paths its file sources may never name, even inside its
    directory (the platform's state directory and key file).
    """
    shown = str(path)
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise WorkloadError(
                f"file is {size} bytes; Score files larger than {MAX_BYTES} bytes are refused",
                location=Location(shown),
            )
        data = file.read_bytes()
    except FileNotFoundError:
        raise WorkloadError("no such file", location=Location(shown)) from None
    except IsADirectoryError:
        raise WorkloadError("is a directory, not a Score file", location=Location(shown)) from None
    except OSError as exc:
        raise WorkloadError(
            f"cannot read: {exc.strerror or exc}", location=Location(shown)
        ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkloadError(
            f"is not UTF-8 text (bad byte at offset {exc.start})", location=Location(shown)
        ) from None
    return load_workload_text(text, shown, private_paths=private_paths)


def load_workload_text(
    text: str, path: Path | str = "<string>", *, private_paths: Iterable[Path] = ()
) -> Workload:
    """Validate Score YAML ``text``; ``path`` names it in errors and anchors ``files.*.source``.

    File sources must lie inside the directory of ``path`` (and outside
    ``private_paths``); without a path (``"<string>"``, or any name in angle
    brackets) the workload may name no host file at all.

    Raises WorkloadError, or WorkloadErrors listing every problem found.
    """
    shown = str(path)
    parsed = parse_yaml(text, shown)
    spec = parsed.data
    positions = parsed.positions

    def error(field: FieldPath, message: str) -> WorkloadError:
        return WorkloadError(
            message, location=_locate(positions, shown, field), field=dotted(field)
        )

    # jsonschema-rs says yes to a valid document quickly; jsonschema explains a "no".
    problems = [] if surely_valid(spec) else schema_problems(spec)
    problems += checks.list_form_problems(spec)
    if problems:
        _raise_all([error(field, message) for field, message in problems], sort=True)
    checks.normalise_lists(spec, positions)
    base = None if shown.startswith("<") else Path(shown).parent
    private = list(private_paths)
    workload = _build(spec, text, shown, positions)
    # the requests parse their params' placeholders once; the check reuses what they found
    problems = checks.check_placeholders(
        spec, {name: request.references() for name, request in workload.resources.items()}
    )
    problems += checks.check_before(spec)
    if not parsed.printable:  # otherwise there is no control character to find
        problems += control_character_problems(spec)
    problems += host_path_problems(spec, base, private)
    problems += expansion_problems(spec, base, private)
    depends = {
        name: set(request.referenced_resources()) for name, request in workload.resources.items()
    }
    problems += checks.check_resource_cycles(spec, depends)
    _raise_all([error(field, message) for field, message in problems], sort=True)
    return workload


def workload_warnings(workload: Workload) -> list[tuple[Location, str]]:
    """What is valid Score but probably not meant (``${...}`` in command/args), located."""
    return [
        (workload.location(*field) or Location(workload.display_path), message)
        for field, message in checks.unexpanded_placeholders(workload.spec)
    ]


def _locate(positions: Positions, shown: str, field: FieldPath) -> Location:
    parts = field
    while parts and parts not in positions:
        parts = parts[:-1]
    position = positions.get(parts)
    return Location(shown, *position) if position else Location(shown)


def _build(spec: dict[str, Any], text: str, shown: str, positions: Positions) -> Workload:
    metadata = spec["metadata"]
    name: str = metadata["name"]
    resources_spec: dict[str, Any] = spec.get("resources") or {}
    uids = {
        rname: resource_uid(r["type"], r.get("class", "default"), name, rname, r.get("id"))
        for rname, r in resources_spec.items()
    }
    resources = {
        rname: ResourceRequest(
            name=rname,
            workload=name,
            type=r["type"],
            resource_class=r.get("class", "default"),
            id=r.get("id"),
            params=dict(r.get("params") or {}),
            annotations=dict((r.get("metadata") or {}).get("annotations") or {}),
            uid=uids[rname],
            location=_locate(positions, shown, ("resources", rname)),
            workload_metadata=metadata,
            sibling_uids=uids,
        )
        for rname, r in resources_spec.items()
    }
    path = None if shown.startswith("<") else Path(shown)
    return Workload(
        name=name,
        spec=spec,
        path=path,
        source=text,
        annotations=dict(metadata.get("annotations") or {}),
        containers=dict(spec["containers"]),
        resources=resources,
        ports=dict((spec.get("service") or {}).get("ports") or {}),
        positions=positions,
        display_path=shown,
    )


def load_workloads(
    paths: Iterable[Path | str], *, private_paths: Iterable[Path] = ()
) -> list[Workload]:
    """Load several Score files that are deployed together, and check them as a group.

    Workload names must be unique, and a resource shared through ``id`` must be
    declared with the same params and annotations everywhere. Problems in every
    file are reported together. ``private_paths`` as in :func:`load_workload_file`.
    """
    private = list(private_paths)
    workloads: list[Workload] = []
    errors: list[InputError] = []
    for path in paths:
        try:
            workloads.append(load_workload_file(path, private_paths=private))
        except InputError as exc:
            errors.extend(errors_of(exc))
    errors.extend(check_group(workloads))
    _raise_all(errors)
    return workloads


def check_group(workloads: Iterable[Workload]) -> list[InputError]:
    """Problems between workloads: duplicate names, and shared resources declared differently."""
    errors: list[InputError] = []
    by_name: dict[str, Workload] = {}
    shared: dict[str, tuple[Workload, ResourceRequest]] = {}
    for workload in workloads:
        first = by_name.setdefault(workload.name, workload)
        if first is not workload:
            errors.append(
                WorkloadError(
                    f"workload name {workload.name!r} is already used by {first.display_path}; "
                    "names must be unique among the workloads deployed together",
                    location=workload.location("metadata", "name"),
                    field="metadata.name",
                )
            )
            continue
        for request in workload.resources.values():
            if request.id is None:
                continue
            seen = shared.setdefault(request.uid, (workload, request))
            if seen[1] is request:
                continue
            other_workload, other = seen
            differs = [
                what
                for what, mine, theirs in (
                    ("params", request.params, other.params),
                    ("annotations", request.annotations, other.annotations),
                )
                if mine != theirs
            ]
            if differs:
                errors.append(
                    WorkloadError(
                        f"shared resource {request.uid} is declared with different "
                        f"{' and '.join(differs)} here and in {other_workload.display_path} "
                        f"(resources.{other.name}); a resource shared by id must be declared "
                        "identically everywhere",
                        location=request.location,
                        field=f"resources.{request.name}",
                    )
                )
    return errors


__all__ = [
    "WorkloadErrors",
    "check_group",
    "errors_of",
    "load_workload_file",
    "load_workload_text",
    "load_workloads",
]
