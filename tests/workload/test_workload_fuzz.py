"""Random damage to valid Score files only ever produces located WorkloadErrors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium.errors import WorkloadError
from podium.workload import load_workload_text
from podium.workload.loader import errors_of

EXAMPLES = Path(__file__).parent / "score_examples"
SEEDS = [
    (EXAMPLES / name).read_text()
    for name in (
        "spec__samples-score-full.yaml",
        "score-compose__examples-09-dns-and-route-score.yaml",
        "examples__samples-aks-store-demo-makeline-score.yaml",
        "score-compose__examples-02-environment-score.yaml",
    )
]
NAME = "fuzz.yaml"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "${resources.nope.x}",
            "${metadata.name}",
            "${}",
            "$${x}",
            "${resources}",
            "${metadata.annotations.a\\.b}",
            "score.dev/v1b1",
            "../x",
            "UPPER",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*here, index))
    return found


def mutate(document: Any, data: st.DataObject) -> Any:
    document = copy.deepcopy(document)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        target = data.draw(st.sampled_from(paths(document)))
        if not target:
            document = data.draw(values)
            continue
        parent = document
        for part in target[:-1]:
            parent = parent[part]
        last = target[-1]
        action = data.draw(st.sampled_from(["replace", "delete", "rename", "add"]))
        if action == "replace":
            parent[last] = data.draw(values)
        elif action == "delete":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=10))] = parent.pop(last)
        elif action == "add" and isinstance(parent[last], dict):
            parent[last][data.draw(st.text(max_size=10))] = data.draw(values)
    return document


def assert_only_located_errors(text: str) -> None:
    try:
        workload = load_workload_text(text, NAME)
    except WorkloadError as exc:
        errors = errors_of(exc)
        assert errors
        for error in errors:
            assert isinstance(error, WorkloadError)
            assert error.location is not None
            assert error.location.path == NAME
            assert error.location.line is not None and error.location.line >= 1
            assert error.reason
    else:
        assert workload.name
        workload.digest()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_documents_fail_only_with_located_errors(seed: str, data: st.DataObject) -> None:
    document = mutate(yaml.safe_load(seed), data)
    assert_only_located_errors(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS), st.data())
def test_damaged_text_fails_only_with_located_errors(seed: str, data: st.DataObject) -> None:
    text = seed
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        at = data.draw(st.integers(min_value=0, max_value=len(text)))
        cut = data.draw(st.integers(min_value=0, max_value=5))
        insert = data.draw(st.text(alphabet=":-[]{}&*!|>'\"#%@` \n\t$x", max_size=4))
        text = text[:at] + insert + text[at + cut :]
    assert_only_located_errors(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_fails_only_with_located_errors(text: str) -> None:
    assert_only_located_errors(text)
