"""Reading a Score file: safe YAML with the line and column of every field.

PyYAML's composer gives nodes with marks; we build the Python value with the safe
constructor and, in the same walk, record where each field path starts so errors
can say ``score.yaml:12:7``.

Plain documents (JSON-like values only, as nearly every Score file is) are built by
:mod:`podium.workload.plain_document` in a single pass; anything else, and every
document with a problem, takes the careful path here, which names the problem.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import yaml

from podium.errors import Location, WorkloadError
from podium.workload.plain_document import RECORDED_DEPTH, build_plain

#: Larger Score files are refused: real ones are a few KiB, and YAML parsing is not free.
MAX_BYTES = 1024 * 1024
#: Bound on the nodes a document may expand to, so alias "bombs" cannot exhaust memory.
MAX_NODES = 200_000
#: Deepest nesting of mappings and lists: real Score files nest fewer than 10 levels, and
#: later steps (schema checks, JSON for state) recurse per level.
MAX_DEPTH = 64
#: Integers must fit in 64 bits: they reach plugins, JSON state and other languages' tools.
INT_RANGE = (-(2**63), 2**64 - 1)

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"

FieldPath = tuple[str | int, ...]
Positions = MutableMapping[FieldPath, tuple[int, int]]


# libyaml's parser when PyYAML was built with it: several times faster, same nodes and marks.
_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[misc]
    """The safe loader; a subclass so nothing we do leaks into PyYAML's globals."""


@dataclass
class ParsedDocument:
    data: Any
    positions: Positions
    #: True when no key or string holds a non-printable character (so no control
    #: character either); False when unknown.
    printable: bool = False


def describe_type(value: Any) -> str:
    """A YAML-ish name for a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def parse_yaml(text: str, path: str) -> ParsedDocument:
    """Parse one YAML document; raise WorkloadError with the position of any problem."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise WorkloadError(
            f"file is {size} bytes; Score files larger than {MAX_BYTES} bytes are refused",
            location=Location(path),
        )
    if not text.strip():
        raise WorkloadError(
            "file is empty; a Score workload needs apiVersion, metadata and containers",
            location=Location(path, 1, 1),
        )
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            raise WorkloadError(
                "file holds no YAML document; a Score workload needs apiVersion, "
                "metadata and containers",
                location=Location(path, 1, 1),
            )
        plain = build_plain(
            node, loader, max_nodes=MAX_NODES, max_depth=MAX_DEPTH, int_range=INT_RANGE
        )
        positions: Positions
        if plain is not None:
            data, printable = plain.data, plain.printable
            positions = FieldPositions(plain.positions, text, path)
        else:
            printable = False
            positions = _positions(node, path, loader)
            data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, yaml.composer.ComposerError) and "another document" in problem:
            problem = "a Score file holds one document, but a second one starts here (---)"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise WorkloadError(
            f"invalid YAML: {problem}", location=Location(path, line, column)
        ) from None
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position)
        raise WorkloadError(
            f"invalid YAML: character {exc.character!r} is not allowed in YAML text",
            location=Location(path, line, column),
        ) from None
    except yaml.YAMLError as exc:
        raise WorkloadError(f"invalid YAML: {exc}", location=Location(path)) from None
    except RecursionError:
        raise WorkloadError(
            "document is nested too deeply", location=Location(path, 1, 1)
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise WorkloadError(
            f"expected a mapping at the top level (apiVersion, metadata, containers), "
            f"found {describe_type(data)}",
            location=Location(path, *positions[()]),
        )
    return ParsedDocument(data, positions, printable)


class FieldPositions(MutableMapping[FieldPath, tuple[int, int]]):
    """Where each field of a plain document starts, as the careful walk records it.

    Holds the top fields' positions from the fast build (all a valid workload uses while
    it is planned); the first question about a deeper field parses ``text`` again with
    the walk, once, for all of them.
    """

    def __init__(self, shallow: dict[FieldPath, tuple[int, int]], text: str, path: str) -> None:
        self._shallow = shallow
        self._text = text
        self._path = path
        self._all: dict[FieldPath, tuple[int, int]] | None = None

    def _complete(self) -> dict[FieldPath, tuple[int, int]]:
        if self._all is None:
            loader = _Loader(self._text)
            try:
                self._all = _positions(loader.get_single_node(), self._path, loader)
            finally:
                loader.dispose()
        return self._all

    def __getitem__(self, field: FieldPath) -> tuple[int, int]:
        if self._all is None and len(field) <= RECORDED_DEPTH:
            return self._shallow[field]  # complete at this depth: missing means absent
        return self._complete()[field]

    def __contains__(self, field: object) -> bool:
        if self._all is None and isinstance(field, tuple) and len(field) <= RECORDED_DEPTH:
            return field in self._shallow
        return field in self._complete()

    def __setitem__(self, field: FieldPath, position: tuple[int, int]) -> None:
        self._complete()[field] = position

    def __delitem__(self, field: FieldPath) -> None:
        del self._complete()[field]

    def __iter__(self) -> Iterator[FieldPath]:
        return iter(self._complete())

    def __len__(self) -> int:
        return len(self._complete())


def _positions(node: yaml.Node, path: str, loader: Any) -> dict[FieldPath, tuple[int, int]]:
    """Every field's position, from the walk that also checks keys, depth and numbers."""
    positions: dict[FieldPath, tuple[int, int]] = {(): _mark(node)}
    _walk(node, (), positions, path, [0], loader)
    return positions


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(
    node: yaml.Node,
    here: FieldPath,
    positions: Positions,
    path: str,
    count: list[int],
    loader: Any,
    depth: int = 0,
) -> None:
    """Record the position of every field; refuse non-string and duplicate keys, deep
    nesting and numbers that do not fit."""
    count[0] += 1
    if count[0] > MAX_NODES:
        raise WorkloadError(
            f"document expands to more than {MAX_NODES} values (YAML aliases?); refused",
            location=Location(path, *_mark(node)),
        )
    if depth > MAX_DEPTH:
        raise WorkloadError(
            f"nested more than {MAX_DEPTH} levels deep; refused",
            location=Location(path, *_mark(node)),
            field=_dotted(here[:3]) or None,
        )
    if isinstance(node, yaml.ScalarNode) and node.tag in (_INT_TAG, _FLOAT_TAG):
        _check_number(node, here, path, loader)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                _walk(value_node, here, positions, path, count, loader, depth)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                shown = key_node.value if isinstance(key_node, yaml.ScalarNode) else "<complex>"
                raise WorkloadError(
                    f"key {shown!s} is not a string; quote it",
                    location=Location(path, *_mark(key_node)),
                    field=_dotted(here) or None,
                )
            key = str(key_node.value)
            if key in seen:
                raise WorkloadError(
                    f"duplicate key {key!r}",
                    location=Location(path, *_mark(key_node)),
                    field=_dotted((*here, key)),
                )
            seen.add(key)
            positions.setdefault((*here, key), _mark(key_node))
            _walk(value_node, (*here, key), positions, path, count, loader, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            positions.setdefault((*here, index), _mark(item))
            _walk(item, (*here, index), positions, path, count, loader, depth + 1)


def _check_number(node: yaml.ScalarNode, here: FieldPath, path: str, loader: Any) -> None:
    """Integers within 64 bits and finite floats: anything else is a located error now
    rather than a crash (Python refuses >4300-digit integers) or broken JSON later."""
    try:
        if node.tag == _INT_TAG:
            value = loader.construct_yaml_int(node)
            ok = INT_RANGE[0] <= value <= INT_RANGE[1]
        else:
            ok = math.isfinite(loader.construct_yaml_float(node))
    except ValueError:
        ok = False
    if not ok:
        shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        kind = "an integer outside 64 bits" if node.tag == _INT_TAG else "not a finite number"
        raise WorkloadError(
            f"{shown} is {kind}; refused",
            location=Location(path, *_mark(node)),
            field=_dotted(here) or None,
        )


def _dotted(field: FieldPath) -> str:
    """``containers.web.variables.PORT``; control characters in keys shown escaped, so an
    error message never carries them raw to the operator's terminal."""
    text = ".".join(str(part) for part in field)
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


dotted = _dotted

__all__ = [
    "INT_RANGE",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "FieldPath",
    "FieldPositions",
    "ParsedDocument",
    "Positions",
    "dotted",
    "parse_yaml",
]
