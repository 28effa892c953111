"""Plans: the difference between the desired graph and state, with a reason for every change."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from podium.engine.graph import Node
from podium.engine.secret_versions import SPEC_KEY as SECRET_SPEC_KEY
from podium.engine.secret_versions import rotation_reason
from podium.errors import InputError, Location
from podium.platform.contract import ResourceRecord
from podium.security.contract import Finding
from podium.security.secret import redact

if TYPE_CHECKING:
    from podium.workload.model import Workload

Action = Literal["create", "update", "replace", "delete", "no-op"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete", "no-op")
#: Version of the saved plan file. 2 added ``prune`` and ``scope``, which verification
#: needs to recompute a plan exactly (see :mod:`podium.engine.verify`); 3 added
#: ``fingerprints`` (see :mod:`podium.engine.staleness`) and ``changes[].diff``.
PLAN_FORMAT = 3
#: Formats this Podium reads: a format 2 file is checked against the serial, as before.
READ_FORMATS = (2, 3)


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
    #: apply even if nothing changed in the files: a refresh found the deployment down or
    #: absent, or the resource's outputs changed behind Podium's back
    redeploy: bool = False
    #: who owns the node after the change (for deletes: who owned it); see podium.identity
    owner: str | None = None
    #: a resource's matching [[rules]] entry and why it won (what ``plan -v`` shows)
    rule: dict[str, Any] | None = None
    #: deleting or replacing a resource that holds data (see podium.engine.data_loss)
    data_loss: bool = False
    #: a class change: this create replaces the resource with that uid (deleted beside it)
    replaces: str | None = None
    #: a class change: this delete is replaced by the create of that uid
    replaced_by: str | None = None
    #: the attributes an update or replace changes, as ``{path, before, after}`` with
    #: secret values masked (see :mod:`podium.engine.attribute_diff`)
    diff: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, *, redacted: bool = True) -> dict[str, Any]:
        """The change as a plan file holds it. ``redacted=False`` leaves Secrets in place
        (and shares the spec's containers) for a caller that redacts as it walks anyway,
        like the plan digest of the audit trail."""
        # Not dataclasses.asdict: it deep-copies every value first, and redact copies
        # the containers again anyway (a 2,000-node plan spent 0.3 s here).
        values = {name: getattr(self, name) for name in _CHANGE_FIELDS}
        return redact(values) if redacted else values

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "change") -> Change:
        _check_types(data, _CHANGE_TYPES, "change", path)
        if data["action"] not in ACTIONS:
            raise PlanShapeError(
                f"{path}.action",
                f"change {data['uid']!r} has unknown action {data['action']!r}; "
                f"one of {', '.join(ACTIONS)}",
            )
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
            rule=self.rule,
        )


#: Change's fields in order (what ``to_dict`` writes), read once.
_CHANGE_FIELDS = tuple(f.name for f in fields(Change))


@dataclass
class Plan:
    """A reviewed set of changes for one environment.

    ``serial`` is the state serial the plan was computed from; applying a saved
    plan after state moved on is refused. ``workloads`` embeds the Score sources
    so a saved plan applies exactly what was reviewed: a plan read from a file is
    recomputed from them and compared before it applies (:mod:`podium.engine.verify`).
    ``prune`` and ``scope`` record how it was asked for, so the recomputation asks
    the same: ``scope`` names the workloads it may touch (``None`` = the whole
    environment).
    """

    platform: str
    environment: str
    serial: int
    changes: list[Change]
    findings: list[Finding] = field(default_factory=list)
    workloads: list[dict[str, str]] = field(default_factory=list)
    destroy: bool = False
    refresh: bool = False
    prune: bool = False
    scope: list[str] | None = None
    config_digest: str = ""
    warnings: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    #: names (workloads, resource ids) this plan takes over from another owner
    take_over: list[str] = field(default_factory=list)
    #: the operator consents to the data loss this plan causes (``--allow-data-loss``)
    allow_data_loss: bool = False
    #: per node the plan relies on, a fingerprint of its state record (``absent`` if none);
    #: ``None``: staleness is checked on the serial (see :mod:`podium.engine.staleness`)
    fingerprints: Mapping[str, str] | None = None
    #: the file format it was read from (what a format 2 file lacks is not compared)
    format: int = PLAN_FORMAT
    #: the version of each plugin whose provisioner, deployer or policy made a change or a
    #: finding (``"unknown"`` when the plugin declares none): what a reviewer sees per node
    plugins: dict[str, str] = field(default_factory=dict)
    #: the workloads this process parsed from the plan's Score sources (its own files, or
    #: a saved plan's embedded sources when verified), by ``(source, path)``: apply uses
    #: them instead of parsing the same text again. Never saved; held by the plan, so
    #: they go when it goes.
    _parsed: dict[tuple[str, str], Workload] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def counts(self) -> dict[str, int]:
        counter = Counter(c.action for c in self.changes)
        return {action: counter.get(action, 0) for action in ACTIONS}

    @property
    def has_changes(self) -> bool:
        return any(c.action != "no-op" for c in self.changes)

    @property
    def blocking_findings(self) -> list[Finding]:
        from podium.engine.data_loss import POLICY as DATA_LOSS

        return [
            f
            for f in self.findings
            if f.level == "mandatory" and not (self.allow_data_loss and f.policy == DATA_LOSS)
        ]

    def change(self, uid: str) -> Change:
        for change in self.changes:
            if change.uid == uid:
                return change
        raise KeyError(uid)

    def to_dict(self, *, redacted: bool = True) -> dict[str, Any]:
        """The plan file's content; ``redacted=False``: see :meth:`Change.to_dict`."""
        return {
            "format": PLAN_FORMAT,
            "platform": self.platform,
            "environment": self.environment,
            "serial": self.serial,
            "created_at": self.created_at,
            "destroy": self.destroy,
            "refresh": self.refresh,
            "prune": self.prune,
            "scope": self.scope,
            "config_digest": self.config_digest,
            "counts": self.counts,
            "changes": [c.to_dict(redacted=redacted) for c in self.changes],
            "findings": [f.to_dict() for f in self.findings],
            "warnings": list(self.warnings),
            "workloads": list(self.workloads),
            "take_over": list(self.take_over),
            "allow_data_loss": self.allow_data_loss,
            "fingerprints": None if self.fingerprints is None else dict(self.fingerprints),
            "plugins": dict(self.plugins),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    @classmethod
    def load(cls, path: Path | str) -> Plan:
        """Read a plan saved with ``to_json()`` (or ``podium plan --out``); see :meth:`from_dict`."""
        return load_plan_file(path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<plan>") -> Plan:
        """The plan in ``data`` (parsed JSON), checked key by key before anything uses it.

        Anything malformed raises :class:`~podium.errors.InputError` naming ``source``
        and, in ``field``, the key path of the first problem (``changes[2].action``);
        never a bare ``KeyError`` or ``TypeError``.
        """
        try:
            check_format(data)
        except InputError as exc:
            raise InputError(
                exc.reason, location=Location(source), field=exc.field, hint=exc.hint
            ) from None
        try:
            return cls._from_dict(data)
        except PlanShapeError as exc:
            raise InputError(
                f"not a valid Podium plan file: {exc.reason}",
                location=Location(source),
                field=exc.path,
                hint="create one with 'podium plan --out FILE'",
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"missing key {exc.args[0]}" if isinstance(exc, KeyError) else str(exc)
            raise InputError(
                f"not a valid Podium plan file: {reason}",
                location=Location(source),
                hint="create one with 'podium plan --out FILE'",
            ) from None

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Plan:
        if not isinstance(data, Mapping):
            raise TypeError(f"expected a JSON object, found {type(data).__name__}")
        _check_types(data, _PLAN_TYPES, "plan", "")
        for index, item in enumerate(data.get("findings", [])):
            _check_types(item, _FINDING_TYPES, "finding", f"findings[{index}]")
        for index, item in enumerate(data.get("workloads", [])):
            if not isinstance(item, Mapping) or not all(
                isinstance(v, str | None) for v in item.values()
            ):
                raise PlanShapeError(
                    f"workloads[{index}]", "each embedded workload must map names to text"
                )
        for index, item in enumerate(data["changes"]):
            attributes = item.get("diff") if isinstance(item, Mapping) else None
            for entry, attribute in enumerate(attributes if isinstance(attributes, list) else []):
                if not isinstance(attribute, Mapping) or not isinstance(attribute.get("path"), str):
                    raise PlanShapeError(
                        f"changes[{index}].diff[{entry}]", "each diff entry needs a text path"
                    )
        for uid, value in (data.get("fingerprints") or {}).items():
            if not isinstance(value, str):
                raise PlanShapeError(
                    f"fingerprints.{uid}", f"must be a string, found {type(value).__name__}"
                )
        for name, version in (data.get("plugins") or {}).items():
            if not isinstance(version, str):
                raise PlanShapeError(
                    f"plugins.{name}", f"must be a string, found {type(version).__name__}"
                )
        for key in ("warnings", "scope", "take_over"):
            for index, item in enumerate(data.get(key) or []):
                if not isinstance(item, str):
                    raise PlanShapeError(
                        f"{key}[{index}]", f"must be a string, found {type(item).__name__}"
                    )
        return cls(
            platform=data["platform"],
            environment=data["environment"],
            serial=int(data["serial"]),
            changes=[Change.from_dict(c, f"changes[{i}]") for i, c in enumerate(data["changes"])],
            findings=[Finding(**f) for f in data.get("findings", [])],
            workloads=list(data.get("workloads", [])),
            destroy=bool(data.get("destroy", False)),
            refresh=bool(data.get("refresh", False)),
            prune=bool(data.get("prune", False)),
            scope=None if data.get("scope") is None else [str(n) for n in data["scope"]],
            config_digest=str(data.get("config_digest", "")),
            warnings=list(data.get("warnings", [])),
            created_at=str(data.get("created_at", "")),
            take_over=[str(name) for name in data.get("take_over", [])],
            allow_data_loss=bool(data.get("allow_data_loss", False)),
            # a format 2 file is checked on the serial, whatever it says
            fingerprints=None
            if data.get("fingerprints") is None or data["format"] < 3
            else dict(data["fingerprints"]),
            format=int(data["format"]),
            plugins=dict(data.get("plugins") or {}),
        )


def load_plan_file(path: Path | str) -> Plan:
    """Read a saved plan; any problem is an InputError (exit 3) naming the file."""
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise InputError(
            f"cannot read the plan file: {exc.strerror or exc}", location=Location(shown)
        ) from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, or nested too deeply
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InputError(
            f"not a Podium plan file (invalid JSON: {reason})",
            location=Location(shown),
            hint="create one with 'podium plan --out FILE'",
        ) from None
    return Plan.from_dict(data, shown)


# The JSON types each field of a saved plan must have; anything else is refused on load
# rather than failing deep inside apply.
_TEXT = (str,)
_OPTIONAL_TEXT = (str, type(None))
_LIST = (list,)
_PLAN_TYPES: dict[str, tuple[type, ...]] = {
    "platform": _TEXT,
    "environment": _TEXT,
    "serial": (int,),
    "changes": _LIST,
    "findings": _LIST,
    "workloads": _LIST,
    "warnings": _LIST,
    "destroy": (bool,),
    "refresh": (bool,),
    "prune": (bool,),
    "scope": (list, type(None)),
    "take_over": _LIST,
    "allow_data_loss": (bool,),
    "config_digest": _TEXT,
    "created_at": _TEXT,
    "fingerprints": (dict, type(None)),
    "plugins": (dict,),
}
_CHANGE_TYPES: dict[str, tuple[type, ...]] = {
    "uid": _TEXT,
    "kind": _TEXT,
    "action": _TEXT,
    "reason": _TEXT,
    "provider": _TEXT,
    "plugin": _TEXT,
    "spec": (dict,),
    "depends_on": _LIST,
    "workload": _OPTIONAL_TEXT,
    "before": (dict, type(None)),
    "changed": _LIST,
    "redeploy": (bool,),
    "owner": _OPTIONAL_TEXT,
    "rule": (dict, type(None)),
    "data_loss": (bool,),
    "replaces": _OPTIONAL_TEXT,
    "replaced_by": _OPTIONAL_TEXT,
    "diff": _LIST,
}
_FINDING_TYPES: dict[str, tuple[type, ...]] = {
    "policy": _TEXT,
    "message": _TEXT,
    "level": _TEXT,
    "subject": _OPTIONAL_TEXT,
    "location": _OPTIONAL_TEXT,
}
_REQUIRED = {"platform", "environment", "serial", "changes", "uid", "kind", "action"}
_REQUIRED |= {"reason", "provider", "plugin", "spec", "policy", "message"}


class PlanShapeError(ValueError):
    """A saved plan's key at ``path`` (``changes[2].action``) is missing or malformed."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path or None
        self.reason = reason


def _check_types(data: Any, types: Mapping[str, tuple[type, ...]], what: str, path: str) -> None:
    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    if not isinstance(data, Mapping):
        raise PlanShapeError(
            path, f"each {what} must be a JSON object, found {type(data).__name__}"
        )
    unknown = sorted(set(data) - set(types) - {"format", "counts"})
    if unknown and what != "plan":
        raise PlanShapeError(
            at(str(unknown[0])), f"unknown key(s) in a {what}: {', '.join(map(str, unknown))}"
        )
    for key, allowed in types.items():
        if key not in data:
            if key in _REQUIRED:
                raise PlanShapeError(at(key), f"missing key {key!r} in a {what}")
            continue
        value = data[key]
        # bool is an int in Python; a serial of true is still wrong.
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise PlanShapeError(
                at(key),
                f"{what} key {key!r} must be {' or '.join(t.__name__ for t in allowed)}, "
                f"found {type(value).__name__}",
            )


def check_format(data: object) -> None:
    """Refuse a plan file this Podium cannot verify: not a plan, no version, or another version.

    Files without ``format`` or with format 1 predate plan verification and lack what
    recomputing them needs; a newer format may mean something this version cannot check.
    Either way the plan is refused (exit 3): planning again is cheap and safe.
    """
    replan = "run 'podium plan --out FILE' again with this Podium and apply that file"
    if not isinstance(data, Mapping):
        raise InputError("not a Podium plan file: expected a JSON object", hint=replan)
    version = data.get("format")
    if type(version) is int and version in READ_FORMATS:  # not 2.0 or true
        return
    if version is None:
        raise InputError(
            "the plan file has no format version: it was saved by an older Podium "
            "and cannot be verified",
            field="format",
            hint=replan,
        )
    if isinstance(version, int) and not isinstance(version, bool) and version > PLAN_FORMAT:
        raise InputError(
            f"the plan file has format {version}, newer than this Podium reads "
            f"(format {PLAN_FORMAT})",
            field="format",
            hint="apply it with the Podium version that saved it, or " + replan,
        )
    raise InputError(
        f"the plan file has format {version!r}; this Podium reads formats "
        f"{', '.join(map(str, READ_FORMATS))} only",
        field="format",
        hint=replan,
    )


def changed_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON-like values differ (any key: bookkeeping is not in specs)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                keys.append(path)
            else:
                keys.extend(changed_keys(old[key], new[key], path))
        return keys
    return [] if old == new else [prefix or "(value)"]


def diff(
    desired: Sequence[Node],
    records: Mapping[str, ResourceRecord],
    *,
    requires_replace: Any,
    destroy: bool = False,
    missing: frozenset[str] = frozenset(),
    scope: frozenset[str] | None = None,
    down: Mapping[str, str] | None = None,
    drifted: Mapping[str, Sequence[str]] | None = None,
    unread: Any = None,
) -> list[Change]:
    """Compare the desired nodes with state records (by uid).

    ``requires_replace(node, record) -> bool`` asks the node's provisioner whether a
    change of params needs a new resource. ``missing`` holds uids that a refresh
    found absent in reality (drift): they are created again. ``scope`` limits
    deletions to records of those workloads, so one team's ``podium up`` never
    removes another team's workloads from a shared environment (``None`` = all).
    ``down`` maps the deployments a refresh found not running to the reason: they
    are deployed again even if nothing changed. ``drifted`` maps the resources a
    refresh found with other outputs than state records to those output keys: they
    are updated (and their dependents re-rendered) even if nothing else changed.
    ``unread(node, record, changed_keys) -> list[str] | None`` names the params whose
    change the node's provisioner never reads, when nothing else changed: no update.
    """
    down = down or {}
    drifted = drifted or {}
    changes: list[Change] = []
    wanted = {} if destroy else {n.uid: n for n in desired}
    touched: set[str] = set()
    for node in wanted.values():
        record = records.get(node.uid)
        action, reason, keys = _compare(node, record, missing, requires_replace, unread)
        redeploy = record is not None and node.uid in down and action != "replace"
        if redeploy:
            reason = down[node.uid] if action == "no-op" else f"{reason}; {down[node.uid]}"
            action = "update"
        elif node.uid in drifted and action in ("no-op", "update"):
            from podium.engine.refresh import drift_reason

            drift = drift_reason(drifted[node.uid])
            reason = drift if action == "no-op" else f"{reason}; {drift}"
            action, redeploy = "update", True  # apply even if the params are unchanged
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
                depends_on=node.depends_on,  # the node's own list: nodes are not kept
                workload=node.workload,
                before=record.spec if record is not None else None,
                changed=keys,
                redeploy=redeploy,
                rule=node.rule,
            )
        )
    if touched:  # else nothing to propagate: the common plan, thousands of nodes long
        _propagate(changes, touched)
    # Records no desired node names are deletion candidates; usually there are none, and
    # then the scope (which reads every record's spec) need not be worked out.
    leftover = [uid for uid in records if uid not in wanted]
    in_scope = _scoped(records, wanted, scope) if leftover else set()
    for uid in leftover:
        record = records[uid]
        if uid in in_scope:
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


def _propagate(changes: Sequence[Change], touched: set[str]) -> None:
    """Update the dependents of ``touched`` nodes (changes in dependency order).

    A changed resource may change the values a dependent renders; apply re-renders such
    dependents and leaves them alone if their rendered form did not change. A rotated
    secret names itself in its dependents' reasons, all the way down.
    """
    rotations = {c.uid: c.reason for c in changes if c.reason.startswith("secret ")}
    for change in changes:  # in dependency order, so one pass propagates
        moved = [d for d in change.depends_on if d in touched]
        rotated = sorted({rotations[d] for d in moved if d in rotations})
        if change.action != "no-op":
            if rotated and change.action == "update":  # updated anyway: say it rotates too
                change.reason = "; ".join([change.reason, *rotated])
                rotations[change.uid] = "; ".join(rotated)
            continue
        if moved:
            change.action = "update"
            if rotated:
                change.reason = "; ".join(rotated)
                rotations[change.uid] = change.reason
            else:
                change.reason = f"re-render: {', '.join(moved[:3])} changes"
            touched.add(change.uid)


def _compare(
    node: Node,
    record: ResourceRecord | None,
    missing: frozenset[str],
    requires_replace: Any,
    unread: Any = None,
) -> tuple[Action, str, list[str]]:
    """What one desired node needs against its record: (action, reason, changed keys)."""
    if record is None:
        return "create", "not in state yet", []
    if node.uid in missing:
        return "create", "drift: it no longer exists", []
    if record.provider != node.provider:
        return "replace", f"provider changes from {record.provider} to {node.provider}", []
    if record.failed_release is not None:
        return "update", f"release {record.failed_release} failed to deploy; deploy again", []
    if record.rolled_back_to is not None:
        release = record.rolled_back_to
        return (
            "update",
            f"rolled back to release {release}; the workload files describe a newer release",
            [],
        )
    if record.spec_hash != node.spec_hash:
        keys = changed_keys(record.spec, node.spec)
        rotated = rotation_reason(record.spec, node.spec)
        if rotated is not None and all(k.split(".")[0] == SECRET_SPEC_KEY for k in keys):
            return "update", rotated, keys
        if node.kind == "resource" and unread is not None:
            ignored = unread(node, record, keys)
            if ignored:  # "updated" would be a lie: the provisioner reads none of it
                return "no-op", "up to date (unread params: " + ", ".join(ignored) + ")", []
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
