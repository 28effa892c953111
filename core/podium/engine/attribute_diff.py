"""Attribute diffs: what a reviewer needs to see in a plan, and never a secret value.

A deployment's node spec holds only the digest of its Score document, so on its own
a plan can say no more than "change of digest". Apply therefore records beside it
(the record's ``attributes``) a flat view of the Score document it deployed: ``containers.main.image``, ``containers.main.variables.PORT``,
``service.ports.web.port``... The next plan compares that view with the Score
document it plans and lists each attribute that changes as ``{path, before, after}``.

Values that may be secret never enter a view: a value under a key whose name says
it is secret (``DB_PASSWORD``, ``API_TOKEN``: the ``builtin.plaintext-secret``
names) unless it is placeholders only, and the content of every file, are kept as
a digest, so a change shows without its value. Resources get the same diff of their
node spec (params, class, rule params), with :class:`~podium.security.secret.Secret`
values and sealed values masked too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from podium.engine.graph import digest
from podium.security.crypto import is_sealed
from podium.security.policies import PLACEHOLDER, SECRET_NAME
from podium.security.secret import REDACTED, Secret

if TYPE_CHECKING:
    from podium.engine.plan import Change
    from podium.platform.contract import ResourceRecord
    from podium.workload.model import Workload

#: How a file's content shows in a diff: never the content itself.
CONTENT = "(content)"
CONTENT_CHANGED = "content changed"
_MASKED = "$masked"
_CONTENT = "$content"
#: Score document keys that say nothing a reviewer needs (the name is the node's name).
_SKIPPED = frozenset({"apiVersion"})
#: how many changed attributes a reason names before "and N more"
_NAMED = 5


def workload_attributes(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The flat, secret-free view of a Score document that apply records and plans compare."""
    view: dict[str, Any] = {}
    for key, value in spec.items():
        if key in _SKIPPED:
            continue
        if key == "metadata" and isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if k != "name"}
        _flatten(str(key), value, view)
    return view


def _flatten(path: str, value: Any, view: dict[str, Any]) -> None:
    last = path.rsplit(".", 1)[-1]
    if _is_file_content(path):
        view[path] = {_CONTENT: digest(_plain(value))}
    elif _may_be_secret(last, value):
        view[path] = {_MASKED: digest(_plain(value))}
    elif isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten(f"{path}.{key}", item, view)
    else:
        view[path] = value


def _is_file_content(path: str) -> bool:
    """``containers.<c>.files.<target>.content`` (or ``binaryContent``)."""
    parts = path.split(".")
    return (
        len(parts) >= 5
        and parts[0] == "containers"
        and parts[2] == "files"
        and parts[-1] in ("content", "binaryContent")
    )


def _may_be_secret(key: str, value: Any) -> bool:
    if isinstance(value, Secret) or is_sealed(value):
        return True
    return bool(SECRET_NAME.search(key)) and not _placeholders_only(value)


def _placeholders_only(value: Any) -> bool:
    """A value such as ``${resources.db.password}``: it names a secret, it holds none."""
    return isinstance(value, str) and bool(value) and not PLACEHOLDER.sub("", value).strip()


def _plain(value: Any) -> Any:
    """What a masked digest is computed over (a Secret's value never leaves this module)."""
    return value.reveal() if isinstance(value, Secret) else value


def spec_attributes(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """The flat, secret-free view of a resource's node spec."""
    view: dict[str, Any] = {}
    for key, value in (spec or {}).items():
        _flatten(str(key), value, view)
    return view


def attribute_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each attribute whose value differs, as ``{path, before, after}`` (``None`` = absent)."""
    changes: list[dict[str, Any]] = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path, _ABSENT), after.get(path, _ABSENT)
        if old == new:
            continue
        shown_new = _shown(new)
        if _is_content(old) and _is_content(new):
            shown_new = CONTENT_CHANGED
        changes.append({"path": path, "before": _shown(old), "after": shown_new})
    return changes


class _Absent:
    """The attribute is not there on that side."""


_ABSENT = _Absent()


def _is_content(value: Any) -> bool:
    return isinstance(value, Mapping) and _CONTENT in value


def _shown(value: Any) -> Any:
    if isinstance(value, _Absent):
        return None
    if isinstance(value, Mapping) and _MASKED in value:
        return REDACTED
    if _is_content(value):
        return CONTENT
    return _redacted(value)


def _redacted(value: Any) -> Any:
    """A value from a view with anything secret inside a list or map masked all the same."""
    if isinstance(value, Secret) or is_sealed(value):
        return REDACTED
    if isinstance(value, Mapping):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value


#: What the last release of a deployment recorded before ``_attributes`` existed still tells:
#: Score expands no placeholder in these, so the rendered value is the Score file's.
_RELEASED = ("image", "command", "args")


def released_attributes(release: Mapping[str, Any]) -> dict[str, Any]:
    """The image, command and args of each container of a (sealed) release record.

    Only plain fields are read: no key is needed, and no secret is in them.
    """
    containers = (release.get("workload") or {}).get("containers") or {}
    return {
        f"containers.{name}.{key}": container.get(key) or ([] if key != "image" else None)
        for name, container in containers.items()
        if isinstance(container, Mapping)
        for key in _RELEASED
    }


def _released_view(spec: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`released_attributes` of a Score document, to compare with a release."""
    return released_attributes({"workload": {"containers": spec.get("containers") or {}}})


def describe_changes(
    changes: Iterable[Change],
    workloads: Iterable[Workload],
    releases: Callable[[str], Sequence[Mapping[str, Any]]] | None = None,
    records: Mapping[str, ResourceRecord] | None = None,
) -> None:
    """Give each update and replace its attribute diff; name the changed attributes in the
    reason that would otherwise say only ``change of digest``.

    ``records`` are state's records by uid: a deployment's ``attributes`` are its recorded view.
    A deployment recorded before apply kept its attributes is compared on what its last
    deployed release (from ``releases(workload)``) tells: image, command and args.
    """
    by_name = {workload.name: workload for workload in workloads}
    recorded = records or {}
    # Where Podium 0.1 kept a deployment's attributes, in its spec, no record's spec holds
    # them any more: ResourceRecord lifts them out as it is made.
    for change in changes:
        if change.action in ("update", "replace") and change.before is not None:
            record = recorded.get(change.uid)
            view = record.attributes if record is not None else None
            change.diff = _diff_of(change, change.before, by_name, releases, view)
            if change.diff and change.kind == "deployment" and change.reason == _DIGEST_REASON:
                change.reason = "change of " + _named([d["path"] for d in change.diff])


_DIGEST_REASON = "change of digest"


def _diff_of(
    change: Change,
    before: Mapping[str, Any],
    workloads: Mapping[str, Workload],
    releases: Callable[[str], Sequence[Mapping[str, Any]]] | None,
    recorded: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    if change.kind in ("resource", "observability"):  # observability: telemetry.<plugin>.*
        return attribute_diff(spec_attributes(before), spec_attributes(change.spec))
    workload = workloads.get(change.workload or "")
    if change.kind != "deployment" or workload is None:
        return []
    if isinstance(recorded, Mapping):
        return attribute_diff(recorded, workload_attributes(workload.spec))
    deployed = [r for r in (releases(workload.name) if releases else []) if _deployed(r)]
    if not deployed:
        return []
    return attribute_diff(released_attributes(deployed[-1]), _released_view(workload.spec))


def _deployed(release: Mapping[str, Any]) -> bool:
    return isinstance(release, Mapping) and release.get("status") == "deployed"


def _named(paths: list[str]) -> str:
    more = f" and {len(paths) - _NAMED} more" if len(paths) > _NAMED else ""
    return ", ".join(paths[:_NAMED]) + more
