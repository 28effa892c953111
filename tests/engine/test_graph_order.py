"""The engine's node order: each node after its dependencies, ties in sorted order.

``topological_order`` decides the order of a plan's changes, so it must stay exactly the
first such order in sorted order, whatever the algorithm inside; checked here against the
obvious (quadratic) definition on generated graphs, cycles included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.engine.graph import CycleError, topological_order


def first_order_by_definition(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Repeatedly take the smallest key whose dependencies in the graph are all taken."""
    order: list[str] = []
    left = set(deps)
    while left:
        ready = [k for k in left if all(d not in left or d == k for d in deps[k])]
        ready = [k for k in ready if k not in deps[k]]
        if not ready:
            return None
        order.append(min(ready))
        left.remove(order[-1])
    return order


names = st.text(alphabet="abcd.#:", min_size=1, max_size=4)
graphs = st.dictionaries(names, st.lists(names, max_size=4), max_size=9)


@settings(max_examples=500, deadline=None)
@given(graphs)
def test_the_order_is_the_first_dependency_order_in_sorted_order(
    deps: dict[str, list[str]],
) -> None:
    expected = first_order_by_definition(deps)
    if expected is not None:
        assert topological_order(deps) == expected
        return
    with pytest.raises(CycleError) as raised:
        topological_order(deps)
    cycle = raised.value.cycle
    assert cycle[0] == cycle[-1] and len(cycle) >= 2
    for node, dep in pairwise(cycle):
        assert dep in deps[node], (cycle, deps)  # each step is a real dependency


def test_dependencies_outside_the_graph_and_listed_twice_are_harmless() -> None:
    deps = {"b": ["a", "a", "outside"], "a": [], "c": ["b", "b"]}
    assert topological_order(deps) == ["a", "b", "c"]


def test_a_node_depending_on_itself_is_a_cycle() -> None:
    with pytest.raises(CycleError) as raised:
        topological_order({"a": [], "b": ["a", "b"]})
    assert raised.value.cycle == ["b", "b"]
