"""Param changes a provisioner never reads: planned as no change, with a warning.

The resource-schema contract (guides/resource-schemas.md) is that every param a
provisioner's model declares is honoured by ``update``, forces a replacement, or is
refused at validate. A model that ignores unknown params (pydantic's default;
podium-local's, so that one Score file carries AWS's params too) says the others are
never read: a change of only those would plan "update" and apply "updated" while
nothing changes. The plan says "no change" instead and warns that the value is unused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from podium.provisioning.schema import ResourceSchema

#: The node spec keys that hold params (the workload's, and the rule's under them).
PARAM_KEYS = ("params", "rule_params")


def merged_params(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The params the provisioner gets: the workload's over its rule's (as ``ctx.params``)."""
    return {**(spec.get("rule_params") or {}), **(spec.get("params") or {})}


def unread_params(
    schema: ResourceSchema,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    changed: Sequence[str],
) -> list[str] | None:
    """The param names whose change the provisioner never reads, when that is all that changed.

    ``changed`` are the dotted spec keys that differ. None when anything else changed
    (another spec key, or a param the provisioner reads), or when the schema does not
    say which params are read (no model, or one that keeps or refuses unknown ones).
    """
    if schema.unknown_params != "ignored" or not changed:
        return None
    if any(key.split(".", 1)[0] not in PARAM_KEYS for key in changed):
        return None
    declared = {param.name for param in schema.params()}
    old, new = merged_params(before), merged_params(after)
    if any(old.get(name) != new.get(name) for name in declared):
        return None
    # The names as written (a rule's param overridden by the workload's counts too), and
    # those of a whole params mapping that appeared or went away.
    names = {key.split(".")[1] for key in changed if "." in key}
    names |= {name for name in set(old) | set(new) if old.get(name) != new.get(name)}
    return sorted(names) or ["params"]


def unread_note(uid: str, provisioner: str, resource_type: str, names: Sequence[str]) -> str:
    """The plan warning for an unread param change."""
    listed = ", ".join(names) or "params"
    return (
        f"{uid}: {listed} changed, but no param provisioner {provisioner!r} reads did: "
        f"nothing to update (podium schema resource {resource_type} --provisioner "
        f"{provisioner} lists its params)"
    )


__all__ = ["merged_params", "unread_note", "unread_params"]
