"""Control characters in a Score file: refused where they could change meaning downstream.

Score files are written by developers, not the platform team, and their strings end up
in process tables, config files of other tools (supervisord, nginx), environment blocks
and file paths. A newline in a name splits a generated config line; a NUL ends a C
string early, so ``execve`` or a launcher fails after validation said yes.

Two rules:

* **names** (every mapping key, ``metadata.name``, resource ``type``/``class``/``id``,
  ``image``, file and volume targets and sources, probe paths, hosts and headers) contain no
  control character at all (C0, DEL or C1), not even a trailing newline;
* **values** (variable values, ``command``, ``args``, resource params and annotation
  values) may span lines (tab, LF and CR are allowed: multi-line scripts and PEM
  certificates are common and harmless in argv and environment blocks), but no other
  control character, NUL included.

File ``content`` is left alone: it becomes a file, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from podium.workload.source import FieldPath

Problem = tuple[FieldPath, str]

#: Every control character: C0, DEL and C1 (Unicode category Cc).
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Control characters other than tab, line feed and carriage return.
_BAD_IN_VALUE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _describe(char: str) -> str:
    names = {"\x00": "NUL", "\n": "a newline", "\r": "a carriage return", "\t": "a tab"}
    return names.get(char, f"control character U+{ord(char):04X}")


def control_character_problems(spec: Mapping[str, Any]) -> list[Problem]:
    """Problems for every name or value in ``spec`` holding a refused control character.

    Call after schema validation (it relies on the document's shape) and after the
    deprecated list forms are converted to maps.
    """
    problems: list[Problem] = []
    for here, text, is_name in _texts(spec):
        found = (_ANY_CONTROL if is_name else _BAD_IN_VALUE).search(text)
        if found is None:
            continue
        what = "a name or path" if is_name else "a value"
        problems.append(
            (
                here,
                f"{_describe(found.group())} at character {found.start() + 1} is not allowed "
                f"in {what}",
            )
        )
    return problems


def _texts(spec: Mapping[str, Any]) -> Iterator[tuple[FieldPath, str, bool]]:
    """(field, text, is_name) for every string the rules above cover."""
    yield from _keys((), spec)
    metadata = spec.get("metadata") or {}
    yield ("metadata", "name"), str(metadata.get("name", "")), True
    yield from _values(("metadata", "annotations"), metadata.get("annotations") or {})
    for cname, container in (spec.get("containers") or {}).items():
        here: FieldPath = ("containers", cname)
        yield (*here, "image"), str(container.get("image", "")), True
        for index, part in enumerate(container.get("command") or []):
            yield (*here, "command", index), str(part), False
        for index, part in enumerate(container.get("args") or []):
            yield (*here, "args", index), str(part), False
        for key, value in (container.get("variables") or {}).items():
            yield (*here, "variables", key), str(value), False
        for target, file in (container.get("files") or {}).items():
            if "source" in file:
                yield (*here, "files", target, "source"), str(file["source"]), True
        for target, volume in (container.get("volumes") or {}).items():
            yield (*here, "volumes", target, "source"), str(volume.get("source", "")), True
            if volume.get("path") is not None:
                yield (*here, "volumes", target, "path"), str(volume["path"]), True
        for probe in ("livenessProbe", "readinessProbe"):
            http = (container.get(probe) or {}).get("httpGet") or {}
            for key in ("path", "host"):
                if key in http:
                    yield (*here, probe, "httpGet", key), str(http[key]), True
            for index, header in enumerate(http.get("httpHeaders") or []):
                # A line break in a header would inject another header into the probe.
                for key in ("name", "value"):
                    field = (*here, probe, "httpGet", "httpHeaders", index, key)
                    yield field, str(header.get(key, "")), True
    for rname, resource in (spec.get("resources") or {}).items():
        here = ("resources", rname)
        for key in ("type", "class", "id"):
            if key in resource:
                yield (*here, key), str(resource[key]), True
        yield from _values((*here, "params"), resource.get("params") or {})
        annotations = (resource.get("metadata") or {}).get("annotations") or {}
        yield from _values((*here, "metadata", "annotations"), annotations)


def _keys(here: FieldPath, value: Any) -> Iterator[tuple[FieldPath, str, bool]]:
    """Every mapping key in the document, file targets and variable names included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*here, key), str(key), True
            yield from _keys((*here, key), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _keys((*here, index), item)


def _values(here: FieldPath, value: Any) -> Iterator[tuple[FieldPath, str, bool]]:
    if isinstance(value, str):
        yield here, value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _values((*here, key), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _values((*here, index), item)


__all__ = ["control_character_problems"]
