"""The direct path of ``canonical_json`` writes exactly the bytes the reshaping path writes.

Plan digests and audit-chain hashes already stored were computed by the reshaping path
(``_canonical_json_walked``); any tool that recomputes them from a saved plan file or a
record must keep agreeing. So the json module's direct output is used only where it is
byte for byte the same, and these tests pin that, value by value and on generated values.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.security.secret import REDACTED, Secret
from podium.state.audit_chain import (
    _canonical_json_walked,
    _encoded_directly,
    canonical_json,
)

#: values the json module writes as they are: the direct path must take them
DIRECT = [
    {},
    [],
    "plain",
    None,
    True,
    0,
    {"b": 1, "a": [True, None, "x"], "é": "naïve \u2028 \x7f", "ctl": '\x00\x1f\n"\\'},
    {"password": Secret("hunter2"), "nested": [Secret("x"), {"k": Secret("")}]},
    {"floats": [0.5, -1.25, 123456789.125, 0.0001, 1234567.5e3 + 0.25, 0.1 + 0.2]},
    {"ints": [2**53 - 1, -(2**53 - 1), 0, -1], "tuple": (1, "a", (2,))},
    {"ключ": "значение", "中文": ["非 ASCII", "\ufb01"], "\ufffd": "\uffff"},
    {"spec": {"params": {"in1": "${resources.r1.name}"}, "id": None, "annotations": {}}},
]

#: values only the reshaping path writes right: the direct path must step aside
RESHAPED = [
    {"int": 2**53},  # beyond 2**53: hashed as text
    [-(2**60)],
    {"integral": 2.0},  # RFC 8785 writes 2
    {"negative zero": -0.0},
    {"big integral": float(2**53)},
    {"exponent": 1e-7},  # "1e-07" in Python, "1e-7" in RFC 8785
    {"exponent": 1e21},
    {"exponent": 1.5e16},
    {"nan": math.nan},
    [math.inf, -math.inf],
    {"\U0001f600": 1, "\ufb01": 2},  # astral key: UTF-16 order differs from code points
    {"value": "astral \U0001f600 value"},  # (values would be fine; any astral steps aside)
    ["lone \ud800 surrogate"],
    {1: "int key"},
    {10: "a", 9: "b"},  # the json module would sort these as numbers
    {True: "bool key"},
    {None: "none key"},
    {"mixed": {1: "a", "b": 2}},
]


class Tagged(str):
    """A str subclass (the direct path leaves subclasses to the reshaping path)."""


class Mapping(dict[str, Any]):
    pass


class Masked:
    """Like a pydantic secret: shown by its masked text."""

    def get_secret_value(self) -> str:
        return "real"

    def __str__(self) -> str:
        return "**********"


RESHAPED += [
    {"tag": Tagged("x")},
    Mapping(a=1),
    {"nested": Mapping(b=[1])},
    {"pydantic": Masked()},
    [1, [2, [3, (4, Mapping())]]],
]


@pytest.mark.parametrize("value", DIRECT)
def test_the_direct_path_writes_what_reshaping_writes(value: Any) -> None:
    direct = _encoded_directly(value)
    assert direct is not None
    assert direct == _canonical_json_walked(value) == canonical_json(value)


@pytest.mark.parametrize("value", RESHAPED)
def test_values_the_json_module_would_write_differently_are_reshaped(value: Any) -> None:
    assert _encoded_directly(value) is None
    assert canonical_json(value) == _canonical_json_walked(value)


def test_secrets_are_masked_on_the_direct_path() -> None:
    sealed = {"params": {"password": Secret("hunter2")}}
    assert canonical_json(sealed) == b'{"params":{"password":"%s"}}' % REDACTED.encode()


def test_a_cyclic_value_is_refused_as_before() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(RecursionError):
        canonical_json(cyclic)


def test_a_lone_surrogate_key_is_refused_as_before() -> None:
    """(Values are hashed as hex; keys never were: unchanged, so no stored hash moves.)"""
    assert _encoded_directly({"\udc00": 1}) is None
    with pytest.raises(UnicodeEncodeError):
        canonical_json({"\udc00": 1})


def test_an_unknown_object_is_refused_as_before() -> None:
    with pytest.raises(TypeError):
        canonical_json({"when": object()})


def test_a_plan_digest_is_the_reshaping_paths(tmp_path: Any) -> None:
    """A real plan (secrets, floats, non-ASCII) hashes as before the direct path existed."""
    import hashlib

    from podium.engine.audit import plan_digest
    from podium.engine.plan import Change, Plan

    change = Change(
        uid="postgres.default#shop.db",
        kind="resource",
        action="create",
        reason="not in state yet",
        provider="postgres",
        plugin="local",
        spec={
            "params": {"password": Secret("s3cret"), "ratio": 0.25, "größe": "groß"},
            "rule_params": {"replicas": 3, "cpu": 1.5},
        },
    )
    plan = Plan(platform="shop", environment="dev", serial=7, changes=[change])
    walked = hashlib.sha256(_canonical_json_walked(plan.to_dict(redacted=False))).hexdigest()
    assert plan_digest(plan) == walked
    assert b"s3cret" not in canonical_json(plan.to_dict(redacted=False))


# ------------------------------------------------------------- generated values
_keys = st.text(max_size=6) | st.sampled_from(["a", "b", "A", "é", "\ufb01", "\U0001f600"])
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0.5, 2.0, -0.0, 1e-7, 1e16, 1e21, 0.1, 123.456])
    | st.text(max_size=8)
    | st.sampled_from(["\ud800", "x\udfff", "\U0001f600", "\u2028"])
    | st.builds(Secret, st.text(max_size=4))
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_keys, inner, max_size=4)
        | st.dictionaries(st.integers(-20, 20), inner, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_generated_values_hash_the_same_on_either_path(value: Any) -> None:
    try:
        expected = _canonical_json_walked(value)
    except (TypeError, ValueError) as refused:  # the reshaping path refuses it: so must we
        with pytest.raises(type(refused)):
            canonical_json(value)
        return
    assert canonical_json(value) == expected
