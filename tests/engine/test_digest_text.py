"""Digests are stored (state records, saved plans): their text must never change.

``podium.engine.graph.canonical_text`` lets orjson write the text where it writes what
the json module writes (``_CANONICAL``), and the json module everything else; these
tests pin the two equal, value by value and on generated values.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.engine import graph
from podium.engine.graph import _CANONICAL, _plain, canonical_text, digest


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Name(str):
    pass


@dataclass
class Point:
    x: int


def json_module_text(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode()


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"b": 1, "a": [True, None, "x", (1, 2)], "c": {"z": -1, "y": 2**63 - 1}},
        {"ctl": '\x00\x01\x08\t\n\x0b\x0c\r\x1f"\\/', "del": "\x7f"},
        {"é": "naïve", "k": "\u2028 \ud83d\ude00 \U0001f600"},
        {"lone": "\ud800"},
        {"floats": [0.5, 1e16, 1e-7, 1e300, 123456789.125, float("inf"), float("nan")]},
        {"ints": [2**64, -(2**63) - 1, 2**70, 0, -1]},
        {1: "int key", 2: "another"},
        {True: "bool key"},
        {"enum": Colour.RED, "intenum": Level.HIGH, "sub": Name("x")},
        {"path": Path("/a/b"), "when": datetime(2026, 1, 2, tzinfo=UTC), "point": Point(1)},
        {"uuid": UUID("12345678-1234-5678-1234-567812345678")},
        OrderedDict([("b", 1), ("a", 2)]),
        {"deep": [[[[[[[[[[{"x": [1]}]]]]]]]]]]},
    ],
)
def test_the_text_is_the_json_modules(value: Any) -> None:
    assert canonical_text(value) == json_module_text(value)


def test_plain_values_take_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is really taken for what a spec holds (else this saves nothing)."""
    calls: list[Any] = []
    dumps = graph.orjson.dumps

    def counted(value: Any, **kwargs: Any) -> bytes:
        calls.append(value)
        return dumps(value, **kwargs)

    monkeypatch.setattr(graph.orjson, "dumps", counted)
    spec = {"params": {"size": 10, "name": "db", "tags": ["a", "b"]}, "id": None}
    assert digest(spec) == digest(dict(reversed(spec.items())))
    assert calls and _plain(spec)
    assert not _plain({"cpu": 0.5})  # floats take the json module


leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from([Colour.RED, Level.HIGH, Name("n"), Path("p"), Point(2)])
)
keys = st.text() | st.integers(min_value=-5, max_value=5) | st.booleans()
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(keys, inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=600, deadline=None)
@given(values)
def test_generated_values_give_the_json_modules_text(value: Any) -> None:
    try:
        expected = json_module_text(value)
    except TypeError:  # keys of mixed types json cannot sort: no digest either way
        with pytest.raises(TypeError):
            canonical_text(value)
        return
    assert canonical_text(value) == expected


ascii_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.text(st.characters(max_codepoint=0x7E)),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(max_codepoint=0x7E)), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=600, deadline=None)
@given(ascii_values)
def test_plain_ascii_values_give_the_json_modules_text(value: Any) -> None:
    assert canonical_text(value) == json_module_text(value)
