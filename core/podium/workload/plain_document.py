"""One pass from composed YAML nodes to Python values and field positions, for plain documents.

A plain document holds only what JSON holds: string, integer, float, boolean and null
scalars, mappings with string keys and sequences, with no merge keys (``<<``) and no
collection reached twice through an alias. Nearly every Score file is plain, and for
those this builds exactly what PyYAML's safe constructor builds, and does it in one walk
instead of two, without the constructor's generic machinery.

Positions are recorded for the top two levels only (``metadata.name``,
``resources.db``...), the ones every valid workload uses; the checking walk in
:mod:`podium.workload.source` finds the deeper ones when an error or a finding needs
one. Recording them all here would double the objects a loaded workload keeps, and
with them the garbage collector's work.

Anything else (a duplicate or non-string key, a number out of range, nesting too deep, a
timestamp, an explicit tag, a merge, a shared collection) makes :func:`build_plain` return
None, and the caller takes the careful path, which builds it or says precisely what is
wrong and where. The limits are the careful path's, passed in by it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from yaml import MappingNode, Node, ScalarNode, SequenceNode

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

FieldPath = tuple[str | int, ...]
Positions = dict[FieldPath, tuple[int, int]]


class _NotPlain(Exception):
    """The document needs the careful path."""


#: Fields this deep or shallower get their position recorded: ``("resources", "db")``.
RECORDED_DEPTH = 2


@dataclass
class PlainDocument:
    data: Any
    #: The position of every field of at most :data:`RECORDED_DEPTH` parts.
    positions: Positions
    #: No key or string holds a control character (or any other non-printable character),
    #: so the control-character check has nothing to find.
    printable: bool


def build_plain(
    node: Node, constructor: Any, *, max_nodes: int, max_depth: int, int_range: tuple[int, int]
) -> PlainDocument | None:
    """The value of ``node`` and the positions of its top fields, or None if not plain.

    ``constructor`` is the PyYAML safe loader that composed ``node``; its scalar
    constructors turn ``0x1F``, ``1_000``, ``.inf`` or ``yes`` into values exactly as it would.
    """
    builder = _Builder(constructor, max_nodes, max_depth, int_range)
    builder.positions[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
    try:
        data = builder.value(node, (), 0)
    except (_NotPlain, ValueError):  # ValueError: an integer Python refuses to convert
        return None
    return PlainDocument(data, builder.positions, builder.printable)


class _Builder:
    def __init__(
        self, constructor: Any, max_nodes: int, max_depth: int, int_range: tuple[int, int]
    ) -> None:
        self.constructor = constructor
        self.budget = max_nodes
        self.max_depth = max_depth
        self.int_range = int_range
        self.positions: Positions = {}
        self.printable = True
        #: ids of the collections built so far: meeting one again means an alias shares it.
        self.collections: set[int] = set()

    def value(self, node: Node, here: FieldPath, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0 or depth > self.max_depth:
            raise _NotPlain
        kind = node.__class__
        tag = node.tag
        if kind is ScalarNode:
            return self.scalar(node, tag)
        if id(node) in self.collections:
            raise _NotPlain
        self.collections.add(id(node))
        positions = self.positions
        record = depth < RECORDED_DEPTH
        if kind is MappingNode and tag == _MAP:
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not ScalarNode or key_node.tag != _STR:
                    raise _NotPlain  # a merge key, a non-string or a complex key
                key = key_node.value
                if key in mapping:
                    raise _NotPlain  # a duplicate key: an error, reported by the careful path
                if self.printable and not key.isprintable():
                    self.printable = False
                field = here
                if record:
                    field = (*here, key)
                    mark = key_node.start_mark
                    positions[field] = (mark.line + 1, mark.column + 1)
                mapping[key] = self.value(value_node, field, depth + 1)
            return mapping
        if kind is SequenceNode and tag == _SEQ:
            items: list[Any] = []
            for index, item in enumerate(node.value):
                field = here
                if record:
                    field = (*here, index)
                    mark = item.start_mark
                    positions[field] = (mark.line + 1, mark.column + 1)
                items.append(self.value(item, field, depth + 1))
            return items
        raise _NotPlain

    def scalar(self, node: Node, tag: str) -> Any:
        if tag == _STR:
            text: str = node.value
            if self.printable and not text.isprintable():
                self.printable = False
            return text
        if tag == _NULL:
            return None
        if tag == _INT:
            number = self.constructor.construct_yaml_int(node)
            if not self.int_range[0] <= number <= self.int_range[1]:
                raise _NotPlain
            return number
        if tag == _FLOAT:
            real = self.constructor.construct_yaml_float(node)
            if not math.isfinite(real):
                raise _NotPlain
            return real
        if tag == _BOOL:
            return self.constructor.construct_yaml_bool(node)
        raise _NotPlain  # a timestamp, binary, or a tag only the careful path knows


__all__ = ["RECORDED_DEPTH", "PlainDocument", "build_plain"]
