"""The dependency graph of nodes the engine plans and applies."""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

NodeKind = Literal["resource", "deployment", "observability"]


@dataclass
class Node:
    """One thing the engine manages.

    ``uid`` is the state key: Score's resource uid for resources
    (``postgres.default#web.db``), ``deployment:<workload>`` and
    ``observability:<workload>`` for the per-workload nodes.
    """

    uid: str
    kind: NodeKind
    provider: str  #: provisioner or deployer registration name
    plugin: str
    spec: dict[str, Any]
    depends_on: list[str] = field(default_factory=list)
    workload: str | None = None
    #: for a resource, the [[rules]] entry it matched and why (display only: not in the spec,
    #: so reordering podium.toml changes no resource); see RuleMatch.explain
    rule: dict[str, Any] | None = None

    @property
    def spec_hash(self) -> str:
        return digest(self.spec)

    @property
    def label(self) -> str:
        return self.uid


# One encoder, not one per call: json.dumps with options builds a new encoder each time,
# and a digest is taken several times for every node of an apply.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def digest(value: Any) -> str:
    """A stable hash of JSON-like data (keys sorted); secrets must be fingerprinted first."""
    return hashlib.sha256(_CANONICAL.encode(value).encode()).hexdigest()[:32]


def fingerprint_secrets(cipher: Any, value: Any) -> Any:
    """``value`` with each Secret replaced by a keyed fingerprint, ready for :func:`digest`."""
    from podium.security.secret import Secret

    if isinstance(value, Secret):
        return {"$secret-fingerprint": cipher.fingerprint(value)}
    if isinstance(value, dict):
        return {k: fingerprint_secrets(cipher, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [fingerprint_secrets(cipher, v) for v in value]
    return value


class CycleError(ValueError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__("dependency cycle: " + " -> ".join(cycle))
        self.cycle = cycle


def topological_order(deps: Mapping[str, Iterable[str]]) -> list[str]:
    """Order keys so each comes after its dependencies (ties in sorted order).

    Dependencies that are not keys are ignored (they are outside the graph).
    Raises :class:`CycleError` naming the cycle.
    """
    # Kahn's algorithm on each key's rank in sorted order: the heap compares small
    # integers, not uids with long common prefixes (a plan of 20,000 nodes sorts them
    # once instead of at every push and pop). A dependency listed twice is an edge
    # counted twice, and released twice.
    keys = sorted(deps)
    rank = {key: index for index, key in enumerate(keys)}
    dependents: list[list[int]] = [[] for _ in keys]
    waiting = [0] * len(keys)
    for key, values in deps.items():
        me = rank[key]
        for dep in values:
            it = rank.get(dep)
            if it is None:
                continue
            if it == me:
                raise CycleError([key, key])
            dependents[it].append(me)
            waiting[me] += 1
    ready = [index for index, count in enumerate(waiting) if count == 0]  # sorted: a heap
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for child in dependents[index]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    if len(order) != len(keys):
        stuck = {
            key: {d for d in deps[key] if d in rank and d != key}
            for key in keys
            if waiting[rank[key]] > 0
        }
        raise CycleError(_find_cycle(stuck))
    return [keys[index] for index in order]


def _find_cycle(deps: Mapping[str, set[str]]) -> list[str]:
    visiting: list[str] = []
    seen: set[str] = set()

    def visit(key: str) -> list[str] | None:
        if key in visiting:
            return [*visiting[visiting.index(key) :], key]
        if key in seen:
            return None
        seen.add(key)
        visiting.append(key)
        for dep in sorted(deps.get(key, ())):
            found = visit(dep)
            if found:
                return found
        visiting.pop()
        return None

    for start in sorted(deps):
        cycle = visit(start)
        if cycle:
            return cycle
    return sorted(deps)
