"""The placeholder size caps, checked at ``validate`` before anything runs.

``${metadata...}`` values are in the Score file, so what they insert is known now:
a file of a few hundred KiB can otherwise expand to gigabytes at apply. Resource
outputs are not known before apply; they come from the platform's provisioners and
are charged to the same caps when the workload is rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from podium.workload.checks import expandable_fields
from podium.workload.confine import HostPathRefused, read_source_file, resolve_source
from podium.workload.placeholders import ExpansionBudget, ExpansionTooLarge, substitute
from podium.workload.source import FieldPath

Problem = tuple[FieldPath, str]


def expansion_problems(
    spec: Mapping[str, Any], base: Path | None, private: Iterable[Path] = ()
) -> list[Problem]:
    """The first value whose placeholders would exceed the caps, if any.

    One problem at most: once the workload total is exceeded every later value would
    be reported too, which says nothing new.
    """
    from podium.workload.render import _Failure, lookup_metadata

    metadata = spec.get("metadata") or {}

    def resolve(parts: list[str]) -> Any:
        if parts[0] != "metadata":
            return ""  # resource outputs: unknown until apply, charged then
        try:
            return lookup_metadata(metadata, parts[1:])
        except _Failure:  # an unknown key is reported by check_placeholders
            return ""

    budget = ExpansionBudget()
    for field, template in _templates(spec, base, list(private)):
        if "{metadata" not in template:
            continue  # only ${metadata...} inserts text now (resources: ""), so no cost
        try:
            substitute(template, resolve, budget)
        except ExpansionTooLarge as exc:
            return [(field, str(exc))]
    return []


def _templates(
    spec: Mapping[str, Any], base: Path | None, private: list[Path]
) -> Iterator[tuple[FieldPath, str]]:
    yield from expandable_fields(spec)
    from podium.workload.render import MAX_SOURCE_BYTES

    for cname, container in (spec.get("containers") or {}).items():
        for target, file in (container.get("files") or {}).items():
            if "source" not in file or file.get("noExpand"):
                continue
            # Source files are expanded too; one that cannot be read is reported at apply.
            try:
                path = resolve_source(base, str(file["source"]), private)
                text = read_source_file(path, MAX_SOURCE_BYTES).decode("utf-8")
            except (HostPathRefused, OSError, UnicodeDecodeError):
                continue
            yield ("containers", cname, "files", target, "source"), text


__all__ = ["expansion_problems"]
