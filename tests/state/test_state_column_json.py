"""State columns are read by orjson only where it reads what the json module reads.

``podium.state.rows.loads`` reads every record's spec, outputs and dependencies on each
plan. orjson is faster but reads some text differently or not at all (an integer beyond
64 bits becomes a float; NaN, a lone surrogate and 1e400 are refused); these tests pin
that such text still gives the json module's values, exactly and with the same types.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.state.rows import dumps, loads


def same(left: Any, right: Any) -> bool:
    """Equal values of the same types, all the way down (NaN equal to NaN)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    return bool(left == right)


@pytest.mark.parametrize(
    "text",
    [
        "18446744073709551616",
        "-9223372036854775809",
        '{"big": [123456789012345678901234567890, -18446744073709551616]}',
        "1e400",
        "-1e400",
        "NaN",
        '{"x": Infinity}',
        '"\\ud800"',
        '["\ud800", 1]',  # a lone surrogate in the text itself, not escaped
        '{"id": "1234567890123456789"}',  # a long digit run in a string
        '{"é": 18446744073709551616}',
        '{"a": 1, "a": 2}',
        "-0",
        "-0.0",
        "1E5",
        '"\\u00e9\\u2028\\u0000/\\/"',
        '{"n": 9223372036854775807, "m": -9223372036854775808, "u": 18446744073709551615}',
        "123456789012345678901234567890.5",
        "[5e-324, 1.7976931348623157e308, 0.1, 4.35e-10]",
    ],
)
def test_text_orjson_reads_otherwise_gives_the_json_modules_values(text: str) -> None:
    assert same(loads(text), json.loads(text))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_columns_read_back_as_the_json_module_reads_them(value: Any) -> None:
    for text in (dumps(value), json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert same(loads(text), json.loads(text))


def test_a_column_that_is_not_text_is_read_by_the_json_module() -> None:
    assert loads(b'{"a": [1, 2]}') == {"a": [1, 2]}
