"""Ownership in plans: a run never changes what state records under another owner.

:meth:`podium.Platform.plan` calls :func:`check_changes` on every plan it makes,
so re-planning a saved plan to verify it checks ownership again. The rules:

* A node (deployment, resource, observability) recorded under owner A may be
  planned (any action, "no-op" included) only by a workload A owns, and deleted
  only by a run acting for A. Anything else raises :class:`OwnershipError`
  naming both owners, unless the run takes it over (``--take-over NAME``: a
  workload name, or the ``id`` of a shared resource), which history records.
* A resource shared by ``id`` belongs to the owner that created it. Workloads of
  another owner may use it only if the rule that provisions it says
  ``shared_across_owners = true``, and even then they cannot change its params.
* ``--prune`` deletes only workloads of the owners the run acts for; it leaves
  the others (and records with no owner yet) alone, with a note.
* Records written before owners were recorded have none. The first plan whose
  Score files include them adopts them for those files' owner (applying the plan
  writes it), so honest users keep working after an upgrade without a step,
  unless the workload's last release says it was deployed from a directory of
  this checkout that maps to another owner: then that owner is treated as
  recorded, so another team cannot adopt it by planning first.

A run with no owner at all (a destroy by workload names without Score files)
is the operator's own action on the command line, and is not restricted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from podium.engine.rules import match_rule
from podium.errors import (
    InputError,
    InputErrors,
    NoMatchingRuleError,
    OwnershipError,
    WorkloadError,
)
from podium.identity import owner_of_path, workload_owner

if TYPE_CHECKING:
    from podium.config.models import RuleSection, TeamSection
    from podium.engine.plan import Change, Plan
    from podium.platform.contract import ResourceRecord, StateStore
    from podium.workload.model import Workload


#: Node spec keys naming the workload that declared a resource, not what it is.
_DECLARER_KEYS = frozenset({"workload", "name"})


def workload_owners(
    workloads: Iterable[Workload],
    root: Path,
    teams: Mapping[str, TeamSection],
    given: str | None = None,
    *,
    required: bool = True,
) -> dict[str, str]:
    """Each workload's owner by name (see :func:`podium.identity.workload_owner`).

    Owner annotations that disagree with the mapping are refused, all at once.
    With ``required``, a workload without a Score file and without ``given`` is
    refused too: nothing trusted says who owns it.
    """
    owners: dict[str, str] = {}
    errors: list[InputError] = []
    for workload in workloads:
        try:
            owner = workload_owner(workload, root, teams, given)
        except InputError as exc:
            errors.append(exc)
            continue
        if owner is not None:
            owners[workload.name] = owner
        elif required:
            errors.append(
                WorkloadError(
                    f"workload {workload.name!r} has no Score file, so nothing trusted says "
                    "who owns it",
                    location=workload.location(),
                    hint="plan it from its file, or pass owner= to Platform.plan",
                )
            )
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)
    return owners


def acting_owners(owners: Mapping[str, str], given: str | None) -> frozenset[str]:
    """The owners a run acts for: its workloads' owners and the one its caller gave."""
    return frozenset(owners.values()) | ({given} if given else frozenset())


def prune_scope(
    records: Iterable[ResourceRecord], names: Iterable[str], acting: frozenset[str]
) -> tuple[frozenset[str] | None, list[str]]:
    """The workloads ``--prune`` may delete, and a note for each one it leaves alone.

    ``None`` (everything) when the run acts for no owner.
    """
    if not acting:
        return None, []
    recorded: dict[str, set[str | None]] = {}
    for record in records:
        workload = record.spec.get("workload")
        if isinstance(workload, str):
            recorded.setdefault(workload, set()).add(record.owner)
    scope = set(names)
    notes: list[str] = []
    for workload, owners in sorted(recorded.items()):
        if workload in scope:
            continue
        if owners <= acting:
            scope.add(workload)
        elif None in owners:
            notes.append(
                f"prune leaves workload {workload!r} alone: it has no owner recorded yet "
                f"(plan it from its Score file to adopt it, or destroy -w {workload})"
            )
        else:
            others = ", ".join(sorted(o for o in owners if o is not None and o not in acting))
            notes.append(f"prune leaves workload {workload!r} alone: it is owned by {others}")
    return frozenset(scope), notes


def legacy_sources(
    store: StateStore,
    records: Iterable[ResourceRecord],
    root: Path,
    teams: Mapping[str, TeamSection],
) -> dict[str, tuple[Path, str]]:
    """Where the workloads deployed before Podium recorded owners were deployed from.

    For each deployment record without an owner, the directory its latest release
    was rendered from (the ``podium.source_dir`` the engine records) and the owner
    that directory maps to, when it is inside ``root`` (a directory elsewhere is
    another checkout and says nothing here). A plan of such a workload from a file
    in another directory, of another owner, is refused like one of a recorded owner:
    right after an upgrade, another team cannot adopt a workload by planning it first.
    """
    found: dict[str, tuple[Path, str]] = {}
    for record in records:
        if record.kind != "deployment" or record.owner is not None:
            continue  # before the spec: reading every record's spec is a walk over all state
        workload = record.spec.get("workload")
        if not isinstance(workload, str):
            continue
        releases = store.releases(workload)
        rendered = releases[-1].get("workload") if releases else None
        source = (rendered or {}).get("extensions", {}).get("podium.source_dir")
        if not isinstance(source, str):
            continue
        directory = Path(source)
        if not directory.is_absolute() or os.path.relpath(directory, root).startswith(".."):
            continue
        try:
            owner = owner_of_path(directory / "score.yaml", root, teams)
        except InputError:  # the mapping changed since: nothing to go by
            continue
        found[workload] = (directory, owner)
    return found


@dataclass
class OwnershipCheck:
    """What :func:`check_changes` found that is not an error."""

    notes: list[str] = field(default_factory=list)
    #: take-over names that took something from another owner
    taken_over: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Conflict:
    uid: str
    action: str
    subject: str  #: "workload 'orders'" or "resource ... (id 'x')"
    name: str  #: what --take-over would name
    owner: str  #: the owner this run acts for
    recorded: str  #: the owner in state
    why: str = ""


def check_changes(
    changes: Sequence[Change],
    records: Mapping[str, ResourceRecord],
    workloads: Sequence[Workload],
    owners: Mapping[str, str],
    acting: frozenset[str],
    *,
    take_over: Iterable[str] = (),
    rules: Sequence[RuleSection] = (),
    environment: str = "",
    legacy: Mapping[str, tuple[Path, str]] | None = None,
) -> OwnershipCheck:
    """Set each change's owner; raise :class:`OwnershipError` if one crosses an owner.

    ``records`` are state's records by uid; ``workloads`` are the run's workloads (from
    its files, destroyed ones included), ``owners`` their owners by name; ``acting`` is
    who the run acts for (:func:`acting_owners`); ``legacy`` is :func:`legacy_sources`.
    See the module doc for the rules.
    """
    # As the engine records podium.source_dir in releases (see legacy_sources).
    directories = {w.name: w.path.parent.resolve() for w in workloads if w.path is not None}

    def owner_of(record: ResourceRecord | None) -> tuple[str | None, str]:
        """The record's owner, and why, for one written before owners: see legacy_sources."""
        if record is None or record.owner is not None:
            return (record.owner if record is not None else None), ""
        name = str(record.spec.get("workload"))
        source = (legacy or {}).get(name)
        if source is None or name not in owners:
            return None, ""  # nothing says otherwise: the run's own files adopt it
        directory, owner = source
        if directories.get(name) == directory or owners[name] == owner:
            return None, ""
        return owner, f"it was deployed from {directory} before Podium recorded owners"

    wanted = set(take_over)
    users: dict[str, set[str]] = {}  # shared resource uid -> owners of the workloads using it
    for workload in workloads:
        for request in workload.resources.values():
            if request.shared:
                users.setdefault(request.uid, set()).add(owners[workload.name])
    result = OwnershipCheck()
    conflicts: list[_Conflict] = []
    adopted = 0

    def taken(name: str) -> bool:
        if name in wanted:
            if name not in result.taken_over:
                result.taken_over.append(name)
            return True
        return False

    for change in changes:
        record = records.get(change.uid)
        recorded, history = owner_of(record)
        workload_name = change.workload or ""
        if change.action == "delete":
            change.owner = recorded
            mine = {owners[workload_name]} if workload_name in owners else set(acting)
            if recorded is None or not mine or recorded in mine or taken(workload_name):
                continue
            conflicts.append(
                _Conflict(
                    change.uid,
                    "delete",
                    f"workload {workload_name!r}",
                    workload_name,
                    min(mine),
                    recorded,
                    history,
                )
            )
            continue
        planner = owners[workload_name]
        if record is not None and recorded is None:
            adopted += 1
        resource_id = change.spec.get("id") if change.kind == "resource" else None
        if resource_id is None:
            if recorded not in (None, planner) and not taken(workload_name):
                assert recorded is not None
                conflicts.append(
                    _Conflict(
                        change.uid,
                        change.action,
                        f"workload {workload_name!r}",
                        workload_name,
                        planner,
                        recorded,
                        history,
                    )
                )
            change.owner = planner
            continue
        # A resource shared by id: it belongs to its creator; others may at most use it.
        holder = recorded or planner
        if holder != planner and taken(str(resource_id)):
            holder = planner
        change.owner = holder
        subject = f"resource {change.uid} (id {resource_id!r})"
        sharers = users.get(change.uid, {planner}) - {holder}
        if sharers and not _shared_by_rule(change, rules, environment):
            conflicts.extend(
                _Conflict(
                    change.uid,
                    change.action,
                    subject,
                    str(resource_id),
                    sharer,
                    holder,
                    "an id resource is shared across owners only when its rule says "
                    "shared_across_owners = true",
                )
                for sharer in sorted(sharers)
            )
        elif holder not in users.get(change.uid, {planner}) and _only_redeclared(change):
            # Planned only by workloads that share it: naming another declaring
            # workload is not a change, and must not rewrite the owner's record.
            change.action = "no-op"
            change.reason = f"shared: owned by {holder!r}, used here"
        elif change.action != "no-op" and holder not in users.get(change.uid, {planner}):
            conflicts.append(
                _Conflict(
                    change.uid,
                    change.action,
                    subject,
                    str(resource_id),
                    planner,
                    holder,
                    "its rule lets other owners use it, not change it",
                )
            )
    if conflicts:
        raise _ownership_error(conflicts)
    if adopted:
        adopters = ", ".join(sorted(acting)) or "this run"
        result.notes.append(
            f"{adopted} record(s) written before Podium recorded owners are adopted by {adopters}"
        )
    for name in sorted(wanted - set(result.taken_over)):
        result.notes.append(f"--take-over {name}: nothing of another owner is named {name!r}")
    return result


def _only_redeclared(change: Change) -> bool:
    """An update whose only difference is which workload (and request name) declares it."""
    return (
        change.action == "update"
        and bool(change.changed)
        and set(change.changed) <= _DECLARER_KEYS
        and change.reason.startswith("change of")
    )


def _shared_by_rule(change: Change, rules: Sequence[RuleSection], environment: str) -> bool:
    spec = change.spec
    try:
        match = match_rule(
            rules,
            resource_type=str(spec.get("type")),
            resource_class=str(spec.get("class", "default")),
            resource_id=spec.get("id"),
            environment=environment,
            uid=change.uid,
        )
    except NoMatchingRuleError:
        return False
    return match.rule.shared_across_owners


def _ownership_error(conflicts: list[_Conflict]) -> OwnershipError:
    grouped: dict[tuple[str, str, str, str, str], list[str]] = {}
    for c in conflicts:
        grouped.setdefault((c.subject, c.name, c.owner, c.recorded, c.why), []).append(
            f"{c.action} {c.uid}"
        )
    lines = []
    for (subject, _name, owner, recorded, why), actions in grouped.items():
        line = f"{subject} is owned by {recorded!r}, not by {owner!r} (this run would {', '.join(actions)})"
        lines.append(f"{line}: {why}" if why else line)
    first = conflicts[0]
    names = sorted({c.name for c in conflicts})
    return OwnershipError(
        "this plan changes what another owner holds:\n  " + "\n  ".join(lines),
        subject=first.subject,
        owner=first.owner,
        recorded_owner=first.recorded,
        hint="if this run's owner should own it from now on, plan again with "
        + " ".join(f"--take-over {name}" for name in names)
        + " (history records it); otherwise rename the workload or resource id",
    )


def check_import(records: Iterable[ResourceRecord], uid: str, owner: str) -> str:
    """The owner of a resource ``import`` records as ``uid``; refuse to overwrite another's."""
    for record in records:
        if record.uid == uid and record.owner not in (None, owner):
            assert record.owner is not None
            raise OwnershipError(
                f"{uid} is owned by {record.owner!r}, not by {owner!r}: "
                "importing would replace its record",
                subject=uid,
                owner=owner,
                recorded_owner=record.owner,
                hint=f"'podium state forget {uid}' first if it really is to change hands",
            )
    return owner


def claim_records(store: StateStore, plan: Plan, take_over: Iterable[str] = ()) -> int:
    """Write the owner of records a plan adopts or takes over; return how many.

    Runs at apply, under the lock, before any change, so an owner moves even for
    a node with nothing else to change (changed nodes are recorded with it again).
    A take-over needs the consent of whoever applies (``take_over``): a plan file
    cannot grant itself one.
    """
    records = {r.uid: r for r in store.records()}
    unconsented = sorted(set(plan.take_over) - set(take_over))
    if unconsented:
        name = unconsented[0]
        taken = [
            c
            for c in plan.changes
            if name in (c.workload, c.spec.get("id")) and c.uid in records and c.owner
        ]
        recorded = next((records[c.uid].owner for c in taken if records[c.uid].owner), None)
        raise OwnershipError(
            f"this plan takes over {', '.join(unconsented)} from another owner, "
            "and applying it does not say so",
            subject=name,
            owner=(taken[0].owner or "") if taken else "",
            recorded_owner=recorded or "",
            hint="apply it with " + " ".join(f"--take-over {n}" for n in unconsented),
        )
    claimed = 0
    for change in plan.changes:
        record = records.get(change.uid)
        if change.action == "delete" or record is None or change.owner is None:
            continue
        if record.owner != change.owner:
            store.put_record(replace(record, owner=change.owner))
            claimed += 1
    return claimed


__all__ = [
    "OwnershipCheck",
    "acting_owners",
    "check_changes",
    "check_import",
    "claim_records",
    "legacy_sources",
    "prune_scope",
    "workload_owners",
]
