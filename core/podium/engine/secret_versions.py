"""Secret rotation in plans: which stored version of a platform secret each node uses.

A ``secret`` resource with ``params.key`` hands a workload a value from the
platform's secret store. Its node spec records the version the environment sees
(``spec["secret"]``), never the value, so a ``podium secrets set`` changes the
spec: the plan updates the resource and re-renders the workloads using it, with
the reason ``secret KEY rotated``. Stores without versions (the 0.1 contract) are
stamped with the value's keyed fingerprint instead, which changes just the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from podium.engine.graph import Node
from podium.errors import NotFoundError
from podium.security.env_secrets import EnvironmentSecrets

#: The node spec key holding the secret's scope and version.
SPEC_KEY = "secret"


def secret_key(spec: Mapping[str, Any]) -> str | None:
    """The store key a ``secret`` resource resolves, or ``None`` (a generated secret)."""
    if spec.get("type") != "secret":
        return None
    params = {**(spec.get("rule_params") or {}), **(spec.get("params") or {})}
    key = params.get("key")
    return str(key) if isinstance(key, str) and key else None


def stamp_secret_versions(
    nodes: Sequence[Node],
    secrets: EnvironmentSecrets | None,
    fingerprint: Callable[[Any], str],
) -> None:
    """Record in each secret resource's spec the version its environment sees."""
    if secrets is None:
        return
    for node in nodes:
        key = secret_key(node.spec) if node.kind == "resource" else None
        if key is None:
            continue
        node.spec = {**node.spec, SPEC_KEY: _stamp(secrets, key, fingerprint)}


def _stamp(
    secrets: EnvironmentSecrets, key: str, fingerprint: Callable[[Any], str]
) -> dict[str, Any]:
    entry = secrets.resolve(key)
    if entry is None:
        return {"key": key, "scope": None, "version": None}  # not set: apply says so
    stamp: dict[str, Any] = {"key": key, "scope": entry.scope, "version": entry.version}
    if entry.revision:
        stamp["revision"] = entry.revision
    if entry.version == 0:  # a 0.1 store numbers no versions: notice a new value instead
        try:
            stamp["fingerprint"] = fingerprint(secrets.get(key))
        except NotFoundError:
            stamp["version"] = None
    return stamp


def rotation_reason(before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
    """``secret KEY rotated`` when the secret a resource resolves has another version."""
    old, new = before.get(SPEC_KEY), after.get(SPEC_KEY)
    if not isinstance(new, Mapping) or old == new:
        return None
    key = new.get("key")
    if not isinstance(old, Mapping):
        return f"secret {key} is now versioned"  # a record from before versions were tracked
    if new.get("version") is None:
        return f"secret {key} was deleted"
    if old.get("scope") != new.get("scope"):
        return f"secret {key} rotated (now the {new.get('scope')} value)"
    return f"secret {key} rotated"
