"""Plans: the difference between the desired graph and state, with a reason for every change."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from podium.engine.graph import Node
from podium.platform.contract import ResourceRecord
from podium.security.contract import Finding
from podium.security.secret import redact

Action = Literal["create", "update", "replace", "delete", "no-op"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete", "no-op")
PLAN_FORMAT = 1


@dataclass
class Change:
    """What apply will do to one node, and why."""

    uid: str
    kind: str
    action: Action
    reason: str
    provider: str
    plugin: str
    spec: dict[str, Any]  #: the desired spec (empty for deletes)
    depends_on: list[str] = field(default_factory=list)
    workload: str | None = None
    before: dict[str, Any] | None = None  #: the applied spec, for display
    changed: list[str] = field(default_factory=list)  #: dotted keys that differ
    #: who owns the node after the change (for deletes: who owned it); see podium.identity
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return redact(asdict(self))  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        return cls(**dict(data))

    def node(self) -> Node:
        return Node(
            uid=self.uid,
            kind=self.kind,  # type: ignore[arg-type]
            provider=self.provider,
            plugin=self.plugin,
            spec=self.spec,
            depends_on=list(self.depends_on),
            workload=self.workload,
        )


@dataclass
class Plan:
    """A reviewed set of changes for one environment.

    ``serial`` is the state serial the plan was computed from; applying a saved
    plan after state moved on is refused. ``workloads`` embeds the Score sources
    so a saved plan applies exactly what was reviewed.
    """

    platform: str
    environment: str
    serial: int
    changes: list[Change]
    findings: list[Finding] = field(default_factory=list)
    workloads: list[dict[str, str]] = field(default_factory=list)
    destroy: bool = False
    refresh: bool = False
    config_digest: str = ""
    warnings: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    #: names (workloads, resource ids) this plan takes over from another owner
    take_over: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counter = Counter(c.action for c in self.changes)
        return {action: counter.get(action, 0) for action in ACTIONS}

    @property
    def has_changes(self) -> bool:
        return any(c.action != "no-op" for c in self.changes)

    @property
    def blocking_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "mandatory"]

    def change(self, uid: str) -> Change:
        for change in self.changes:
            if change.uid == uid:
                return change
        raise KeyError(uid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "platform": self.platform,
            "environment": self.environment,
            "serial": self.serial,
            "created_at": self.created_at,
            "destroy": self.destroy,
            "refresh": self.refresh,
            "config_digest": self.config_digest,
            "counts": self.counts,
            "changes": [c.to_dict() for c in self.changes],
            "findings": [f.to_dict() for f in self.findings],
            "warnings": list(self.warnings),
            "workloads": list(self.workloads),
            "take_over": list(self.take_over),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        if data.get("format") != PLAN_FORMAT:
            raise ValueError(
                f"unsupported plan format {data.get('format')!r} (expected {PLAN_FORMAT})"
            )
        return cls(
            platform=data["platform"],
            environment=data["environment"],
            serial=int(data["serial"]),
            changes=[Change.from_dict(c) for c in data["changes"]],
            findings=[Finding(**f) for f in data.get("findings", [])],
            workloads=list(data.get("workloads", [])),
            destroy=bool(data.get("destroy", False)),
            refresh=bool(data.get("refresh", False)),
            config_digest=str(data.get("config_digest", "")),
            warnings=list(data.get("warnings", [])),
            created_at=str(data.get("created_at", "")),
            take_over=[str(name) for name in data.get("take_over", [])],
        )


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON-like values differ (keys starting with ``_`` are bookkeeping)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            if str(key).startswith("_"):
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                keys.append(path)
            else:
                keys.extend(changed_keys(old[key], new[key], path))
        return keys
    return [] if old == new else [prefix or "(value)"]


def diff(
    desired: Sequence[Node],
    records: Iterable[ResourceRecord],
    *,
    requires_replace: Any,
    destroy: bool = False,
    missing: frozenset[str] = frozenset(),
    scope: frozenset[str] | None = None,
) -> list[Change]:
    """Compare the desired nodes with state records.

    ``requires_replace(node, record) -> bool`` asks the node's provisioner whether a
    change of params needs a new resource. ``missing`` holds uids that a refresh
    found absent in reality (drift): they are created again. ``scope`` limits
    deletions to records of those workloads, so one team's ``podium up`` never
    removes another team's workloads from a shared environment (``None`` = all).
    """
    by_uid = {r.uid: r for r in records}
    changes: list[Change] = []
    wanted = {} if destroy else {n.uid: n for n in desired}
    touched: set[str] = set()
    for node in wanted.values():
        record = by_uid.get(node.uid)
        action, reason, keys = _compare(node, record, missing, requires_replace)
        if action != "no-op":
            touched.add(node.uid)
        changes.append(
            Change(
                uid=node.uid,
                kind=node.kind,
                action=action,
                reason=reason,
                provider=node.provider,
                plugin=node.plugin,
                spec=node.spec,
                depends_on=list(node.depends_on),
                workload=node.workload,
                before=record.spec if record is not None else None,
                changed=keys,
            )
        )
    # A changed resource may change the values a dependent renders; apply re-renders
    # such dependents and leaves them alone if their rendered form did not change.
    for change in changes:  # nodes are in dependency order, so one pass propagates
        if change.action != "no-op":
            continue
        moved = [d for d in change.depends_on if d in touched]
        if moved:
            change.action = "update"
            change.reason = f"re-render: {', '.join(moved[:3])} changes"
            touched.add(change.uid)
    in_scope = _scoped(by_uid, wanted, scope)
    for record in by_uid.values():
        if record.uid not in wanted and record.uid in in_scope:
            changes.append(
                Change(
                    uid=record.uid,
                    kind=record.kind,
                    action="delete",
                    reason="destroy requested" if destroy else "no longer in any workload",
                    provider=record.provider,
                    plugin=record.plugin,
                    spec={},
                    depends_on=list(record.depends_on),
                    workload=record.spec.get("workload"),
                    before=record.spec,
                )
            )
    return changes


def _compare(
    node: Node, record: ResourceRecord | None, missing: frozenset[str], requires_replace: Any
) -> tuple[Action, str, list[str]]:
    """What one desired node needs against its record: (action, reason, changed keys)."""
    if record is None:
        return "create", "not in state yet", []
    if node.uid in missing:
        return "create", "drift: it no longer exists", []
    if record.provider != node.provider:
        return "replace", f"provider changes from {record.provider} to {node.provider}", []
    if record.spec.get("_failed") is not None:
        return "update", f"release {record.spec['_failed']} failed to deploy; deploy again", []
    if record.spec.get("_rolled_back_to") is not None:
        release = record.spec["_rolled_back_to"]
        return (
            "update",
            f"rolled back to release {release}; the workload files describe a newer release",
            [],
        )
    if record.spec_hash != node.spec_hash:
        keys = changed_keys(record.spec, node.spec)
        if node.kind == "resource" and requires_replace(node, record):
            return "replace", "immutable change of " + ", ".join(keys[:5]), keys
        return "update", "change of " + ", ".join(keys[:5]), keys
    return "no-op", "up to date", []


def _scoped(
    records: Mapping[str, ResourceRecord], wanted: Mapping[str, Node], scope: frozenset[str] | None
) -> set[str]:
    """The recorded uids a plan may delete: those of workloads in ``scope``.

    A resource shared with a workload outside the scope stays while any record
    outside the scope still depends on it.
    """
    if scope is None:
        return set(records)
    owned = {uid for uid, r in records.items() if r.spec.get("workload") in scope}
    used_elsewhere = {dep for uid, r in records.items() if uid not in owned for dep in r.depends_on}
    return owned - used_elsewhere
