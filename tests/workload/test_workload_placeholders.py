"""Score placeholder rules, as examples from the reference behaviour and as properties."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podium.security.secret import Secret
from podium.workload.checks import check_placeholders
from podium.workload.placeholders import (
    escape,
    expand,
    raw_references,
    references,
    split_path,
    substitute,
)

VALUES = {
    ("metadata", "name"): "test-name",
    ("metadata", "other"): {"key": "value", "a": [1, True]},
    ("metadata", "annotations", "key.com/foo-bar"): "thing",
    ("resources", "db", "host"): "db.local",
    ("resources", "db", "port"): 5432,
    ("resources", "db", "password"): Secret("s3cr3t"),
}


def resolve(parts: list[str]) -> object:
    return VALUES[tuple(parts)]


def never(parts: list[str]) -> object:
    raise AssertionError(f"resolver called for {parts}")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("", ""),
        ("abc", "abc"),
        ("$abc", "$abc"),
        ("abc $$ abc", "abc $ abc"),
        ("$${abc}", "${abc}"),
        ("$$$${abc}", "$${abc}"),
        ("$${abc .4t3298y *(^&(*}", "${abc .4t3298y *(^&(*}"),
        ("$", "$"),
        ("${unclosed", "${unclosed"),
        ("my name is ${metadata.name}", "my name is test-name"),
        ("${metadata.annotations.key\\.com/foo-bar}", "thing"),
        ("${resources.db.host}:${resources.db.port}", "db.local:5432"),
        ("${metadata.other}", '{"a":[1,true],"key":"value"}'),
        ("$$${metadata.name}", "$test-name"),
    ],
)
def test_substitute_matches_score(template: str, expected: str) -> None:
    assert substitute(template, resolve) == expected


def test_split_path_keeps_escaped_dots() -> None:
    assert split_path("metadata.annotations.key\\.com/foo-bar") == [
        "metadata",
        "annotations",
        "key.com/foo-bar",
    ]
    assert split_path("resources.db") == ["resources", "db"]
    assert split_path("") == [""]


def test_references_skip_escapes() -> None:
    template = "$${skip.me} ${resources.db.host} $$ ${metadata.name} $$${resources.db}"
    assert references(template) == [
        ["resources", "db", "host"],
        ["metadata", "name"],
        ["resources", "db"],
    ]


def test_any_secret_makes_the_whole_result_secret() -> None:
    result = substitute("postgres://u:${resources.db.password}@${resources.db.host}/x", resolve)
    assert isinstance(result, Secret)
    assert result.reveal() == "postgres://u:s3cr3t@db.local/x"
    assert "s3cr3t" not in repr(result) and "s3cr3t" not in f"{result}"
    assert substitute("${resources.db.host}", resolve) == "db.local"


def test_nested_secret_in_a_structured_value_is_secret_too() -> None:
    result = substitute("${x.y}", lambda parts: {"inner": Secret("p")})
    assert isinstance(result, Secret)
    assert json.loads(result.reveal()) == {"inner": "p"}


def test_expand_recurses_into_values_not_keys() -> None:
    params = {
        "${metadata.name}": "${metadata.name}",
        "list": ["${resources.db.host}", 3, None, {"deep": "${resources.db.password}"}],
        "flag": True,
    }
    expanded = expand(params, resolve)
    assert expanded["${metadata.name}"] == "test-name"
    assert expanded["list"][:3] == ["db.local", 3, None]
    assert isinstance(expanded["list"][3]["deep"], Secret)
    assert expanded["flag"] is True


def test_resolver_errors_propagate() -> None:
    with pytest.raises(KeyError):
        substitute("${metadata.missing}", resolve)


# -- properties ------------------------------------------------------------------------------

text_with_dollars = st.text(
    alphabet=st.sampled_from(list("ab.{}$\\ \n")) | st.characters(), max_size=60
)


@given(text_with_dollars)
def test_escape_round_trips(text: str) -> None:
    # Whole texts only: see test_escape_is_not_compositional.
    template = escape(text)
    assert references(template) == []
    assert substitute(template, never) == text


@given(st.text(max_size=80))
def test_arbitrary_text_never_crashes(text: str) -> None:
    result = substitute(text, lambda parts: ".".join(parts).upper())
    assert isinstance(result, str)
    # Without any "$" nothing changes.
    if "$" not in text:
        assert result == text


@given(st.integers(min_value=0, max_value=40), st.text(alphabet="abc {}", max_size=10))
def test_double_dollars_halve(count: int, tail: str) -> None:
    # "$$" pairs collapse to "$"; a trailing text without "$" stays as it is.
    assert substitute("$$" * count + tail.replace("{", "("), never) == "$" * count + tail.replace(
        "{", "("
    )


@given(st.lists(st.text(alphabet="abcxyz-_", min_size=1, max_size=8), min_size=1, max_size=4))
def test_placeholder_paths_round_trip_through_split(parts: list[str]) -> None:
    inner = ".".join(part.replace(".", "\\.") for part in parts)
    assert split_path(inner) == parts
    seen: list[list[str]] = []

    def record(path: list[str]) -> str:
        seen.append(path)
        return "X"

    assert substitute("<${" + inner + "}>", record) == "<X>"
    assert seen == [parts]


@given(st.text(max_size=30), st.text(alphabet="abc", min_size=1, max_size=5))
def test_secret_taints_any_template(prefix: str, key: str) -> None:
    # An unclosed "${" in the prefix would swallow the placeholder after it (Score's
    # "$${...}" escape runs to the next "}"), so escaped fragments do not concatenate.
    prefix = prefix.replace("{", "(")
    template = escape(prefix) + "${resources.db." + key + "}"
    result = substitute(template, lambda parts: Secret("hidden"))
    assert isinstance(result, Secret)
    assert result.reveal() == prefix + "hidden"


def test_escape_is_not_compositional() -> None:
    # Score reads "$${" up to the next "}", so an escaped "${" followed by more template
    # text changes meaning; escape the whole literal text at once.
    assert substitute(escape("${"), never) == "${"
    assert substitute(escape("${") + "${metadata.name}", resolve) == "${${metadata.name}"


placeholder_text = st.sampled_from(
    [
        "${resources.db.host}",
        "${resources.db.a\\.b}",
        "${resources.nope.host}",
        "${resources.db}",
        "${resources.db..x}",
        "${resources.db.bad key}",
        "${metadata.name}",
        "${metadata.missing}",
        "${other.x}",
        "${}",
        "$${resources.db.host}",
        "plain",
    ]
)
params = st.recursive(
    placeholder_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


@given(st.dictionaries(st.sampled_from(["db", "cache", "q"]), params, min_size=1))
def test_checking_with_the_requests_parsed_paths_finds_the_same_problems(
    params_by_resource: dict[str, Any],
) -> None:
    """The loader hands check_placeholders the paths its requests parsed; a resource whose
    paths all look fine is not walked again, so the problems must be the same either way."""
    spec = {
        "metadata": {"name": "web"},
        "containers": {"main": {"variables": {"A": "${resources.db.port}"}}},
        "resources": {name: {"type": "x", "params": p} for name, p in params_by_resource.items()},
    }
    paths = {
        name: [split_path(i) for text in _texts(p) for i in raw_references(text)]
        for name, p in params_by_resource.items()
    }
    assert check_placeholders(spec, paths) == check_placeholders(spec)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value
    return [text for item in items for text in _texts(item)]
