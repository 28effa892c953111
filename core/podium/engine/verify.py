"""Saved plans are verified, not trusted.

A plan file travels between ``podium plan --out`` and ``podium apply`` (a pull
request, a CI artefact) and anyone on the way can edit it. So a plan read from a
file is never applied as written: it is recomputed from the Score sources it
embeds, with the flags it records, against the current config and state, with
every policy, and the recomputation must equal the file. What then applies is the
recomputation, so nothing the file says beyond its sources and flags can reach
a plugin.

Differences are sorted into two kinds, because they ask for different actions:

* **stale** (:class:`~podium.errors.StalePlanError`, exit 8): the world moved on
  since an honest plan: the state serial, the platform config, or, for a
  ``--refresh`` plan, what really exists. Planning again is the fix.
* **unverified** (:class:`~podium.errors.PlanVerificationError`, exit 12): with
  the same state and config the file should be reproduced exactly; anything
  else (a removed or downgraded finding, an edited source, other params, another
  platform or environment) means the file does not say what it would do.

A workload's ``path`` in the plan (relative to the platform root when the file
is inside it, so plans move between checkouts) is a claim too: it anchors
relative ``files.*.source``, names the file in errors and (with ownership)
decides who owns the workload. When a plan names a path, the Score file there
must still hold exactly the embedded source, so the claim is backed by the
operator's checkout; the embedded text is what gets applied. Workloads submitted without a
file (``path`` empty) apply from their embedded text alone.

Messages name the fields that differ, never their values, which may be secret.
"""

from __future__ import annotations

import re
import stat
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.engine.plan import Plan, changed_keys
from podium.engine.staleness import REPLAN as REPLAN_STALE
from podium.engine.staleness import check_not_stale, moved_nodes, stale_message
from podium.errors import InputError, PlanVerificationError, StalePlanError

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.platform.contract import ResourceRecord
    from podium.workload.model import Workload

_LINE_COLUMN = re.compile(r"(:\d+){1,2}$")
#: how many differences a refusal lists before "and N more"
SHOWN = 6
REPLAN = "run 'podium plan --out FILE' again and review that plan"


@dataclass(frozen=True)
class VerifiedPlan:
    """The recomputed plan, equal to the saved one, and the workloads parsed for it."""

    plan: Plan
    parsed: list[tuple[dict[str, str], Workload]]


def verify_saved_plan(
    platform: Platform, saved: Plan, *, env: str | None = None, take_over: Sequence[str] = ()
) -> VerifiedPlan:
    """Recompute ``saved`` on ``platform``; return the recomputation or raise.

    ``env`` is the environment the operator asked for (``-e``), if any; ``take_over`` the
    take-overs the applier consents to now (a plan file cannot grant itself one).
    """
    _check_target(platform, saved, env)
    store = platform.store(saved.environment)
    _check_not_stale(platform, saved, store.serial(), store.records)
    parsed = _embedded_workloads(saved, platform.root)
    fresh = platform.plan(
        saved.environment,
        [workload for _, workload in parsed],
        refresh=saved.refresh,
        destroy=saved.destroy,
        prune=saved.prune,
        workloads=saved.scope or (),
        take_over=take_over,
    )
    if saved.fingerprints is not None and fresh.fingerprints is not None:
        # what the recomputation relied on must be what the saved plan relied on
        moved = moved_nodes(saved.fingerprints, fresh.fingerprints)
        if moved:
            raise StalePlanError(stale_message(saved.environment, moved), hint=REPLAN_STALE)
    else:
        check_not_stale(replace(saved, fingerprints=None), fresh.serial, [])
    _check_config(platform, saved)
    _check_plugin_versions(saved, fresh)
    problems = plan_differences(saved, fresh)
    if problems:
        if saved.refresh and _drift(saved) != _drift(fresh):
            raise StalePlanError(
                f"what really exists in {saved.environment!r} changed since this plan was made "
                "(its refresh found other resources missing or changed than a refresh finds now)",
                hint=REPLAN,
            )
        shown = "\n  ".join(problems[:SHOWN])
        more = f"\n  and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        raise PlanVerificationError(
            "the saved plan does not match what its own Score sources plan now "
            f"against the same state and config:\n  {shown}{more}",
            hint="the file was edited after 'podium plan' (or the plugins plan differently "
            "now); nothing was applied. " + REPLAN,
        )
    return VerifiedPlan(fresh, parsed)


def _check_target(platform: Platform, saved: Plan, env: str | None) -> None:
    if saved.platform != platform.name:
        raise PlanVerificationError(
            f"the plan is for platform {saved.platform!r}, not {platform.name!r}",
            hint="apply it with the podium.toml of that platform",
        )
    if env is not None and env != saved.environment:
        raise PlanVerificationError(
            f"the plan is for environment {saved.environment!r}, not {env!r}; "
            "a saved plan applies only to the environment it was made for",
            hint=f"plan for {env!r} with 'podium plan -e {env} --out FILE'",
        )


def _check_not_stale(
    platform: Platform, saved: Plan, serial: int, records: Callable[[], list[ResourceRecord]]
) -> None:
    """Stale by the nodes it touches (format 3, scoped) or by the serial (see staleness)."""
    check_not_stale(saved, serial, records() if saved.fingerprints is not None else [])
    _check_config(platform, saved)


def _check_config(platform: Platform, saved: Plan) -> None:
    if saved.config_digest != platform.config_digest():
        raise StalePlanError(
            "the platform config changed since this plan was made "
            "(or the plan's config_digest was edited)",
            hint="run 'podium plan' again",
        )


def _check_plugin_versions(saved: Plan, fresh: Plan) -> None:
    """The plugins that would make the changes are the versions the reviewer saw."""
    moved = sorted(
        name
        for name, version in saved.plugins.items()
        if name in fresh.plugins and fresh.plugins[name] != version
    )
    if moved:
        shown = ", ".join(f"{n} {saved.plugins[n]} -> {fresh.plugins[n]}" for n in moved)
        raise StalePlanError(
            f"plugins were upgraded or downgraded since this plan was made ({shown})",
            hint="plan again to review what the installed versions do",
        )


def _embedded_workloads(saved: Plan, root: Path) -> list[tuple[dict[str, str], Workload]]:
    """Parse the embedded sources; a named path (relative to ``root``) must hold the same text."""
    from podium.workload.loader import WorkloadErrors, check_group, load_workload_text

    parsed: list[tuple[dict[str, str], Workload]] = []
    for index, entry in enumerate(saved.workloads):
        if not isinstance(entry, Mapping):
            raise InputError(f"workloads[{index}] is not an object", field="workloads")
        name = str(entry.get("name", f"#{index}"))
        source = entry.get("source")
        path = entry.get("path") or ""
        if not isinstance(source, str):
            raise PlanVerificationError(f"workloads[{name}]: the plan embeds no Score source")
        # Parsed before the file is read: only a valid Score document is ever compared with
        # a file, so a path like /etc/shadow in an edited plan tells nothing about its content.
        workload = load_workload_text(source, root / path if path else f"<plan:{name}>")
        if path:
            _check_file_holds(root / path, source, name)
        parsed.append((entry, workload))
    problems = check_group(workload for _, workload in parsed)
    if problems:
        raise problems[0] if len(problems) == 1 else WorkloadErrors(problems)
    return parsed


def _check_file_holds(path: Path, source: str, name: str) -> None:
    from podium.workload.source import MAX_BYTES

    reason = ""
    try:
        info = path.stat()
        # Never read a device, a FIFO or a huge file an edited plan may point at.
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            reason = "is not a Score file"
        else:
            on_disk = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        reason = "does not exist"
    except (OSError, UnicodeDecodeError):
        reason = "cannot be read"
    if reason:
        raise PlanVerificationError(
            f"workloads[{name}]: the plan names the Score file {path}, which {reason} here",
            hint="apply the plan from a checkout holding the Score files it was made from, or "
            + REPLAN,
        )
    if on_disk != source:
        raise PlanVerificationError(
            f"workloads[{name}]: the source embedded in the plan differs from {path} "
            "(the plan was edited, or the file changed since the plan was made)",
            hint=REPLAN,
        )


# ------------------------------------------------------------------ comparison
_PLAN_FIELDS = ("platform", "environment", "destroy", "refresh", "prune", "scope", "take_over")
_CHANGE_FIELDS = (
    "owner",
    "redeploy",
    "kind",
    "action",
    "reason",
    "provider",
    "plugin",
    "depends_on",
    "workload",
    "changed",
)
#: what a plan file records from format 3 on (a format 2 file predates these fields)
_CHANGE_FIELDS_SINCE_3 = ("diff", "data_loss", "replaces", "replaced_by")


def plan_differences(saved: Plan, fresh: Plan) -> list[str]:
    """Every way ``saved`` differs from ``fresh``, as field paths (no values).

    ``created_at``, ``warnings`` (notes from recovering an interrupted run, which
    the recomputation no longer meets) and ``counts`` (derived) are not compared.
    """
    mine, theirs = _normal(saved.to_dict()), _normal(fresh.to_dict())
    problems = [
        f"{name}: the file says {mine[name]!r}, recomputing gives {theirs[name]!r}"
        for name in _PLAN_FIELDS
        if mine.get(name) != theirs.get(name)
    ]
    # A format 2 file has no fingerprints, diffs or data-loss labels: nothing to compare.
    since_3 = saved.format >= 3
    if since_3 and mine.get("fingerprints") != theirs.get("fingerprints"):
        problems.append("fingerprints differ")
    problems += _workload_differences(mine["workloads"], theirs["workloads"])
    fields = (*_CHANGE_FIELDS, *_CHANGE_FIELDS_SINCE_3) if since_3 else _CHANGE_FIELDS
    problems += _change_differences(mine["changes"], theirs["changes"], fields)
    problems += _finding_differences(mine["findings"], theirs["findings"])
    return problems


def _normal(value: Any) -> Any:
    """The JSON form of ``value``, as a plan file would hold it."""
    import json

    return json.loads(json.dumps(value, default=str))


def _workload_differences(
    mine: Sequence[Mapping[str, Any]], theirs: Sequence[Mapping[str, Any]]
) -> list[str]:
    if len(mine) != len(theirs):
        return [f"workloads: the file lists {len(mine)}, its sources give {len(theirs)}"]
    problems = []
    for index, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                problems.append(f"workloads[{a.get('name', index)}].{key} differs")
    return problems


def _change_differences(
    mine: Sequence[Mapping[str, Any]],
    theirs: Sequence[Mapping[str, Any]],
    fields: Sequence[str] = _CHANGE_FIELDS,
) -> list[str]:
    problems: list[str] = []
    counted = Counter(str(c.get("uid")) for c in mine)
    problems += [f"changes[{uid}] appears {n} times" for uid, n in counted.items() if n > 1]
    by_uid = {str(c.get("uid")): c for c in theirs}
    listed = {str(c.get("uid")): c for c in mine}
    problems += [
        f"changes[{uid}] is in the file, not in what its sources plan"
        for uid in listed
        if uid not in by_uid
    ]
    problems += [f"changes[{uid}] is missing from the file" for uid in by_uid if uid not in listed]
    for uid, change in listed.items():
        other = by_uid.get(uid)
        if other is None:
            continue
        for key in fields:
            if change.get(key) != other.get(key):
                problems.append(f"changes[{uid}].{key} differs")
        for key in ("spec", "before"):
            if change.get(key) != other.get(key):
                paths = changed_keys(change.get(key), other.get(key), key) or [key]
                problems += [f"changes[{uid}].{path} differs" for path in paths]
    return problems


def _finding_differences(
    mine: Sequence[Mapping[str, Any]], theirs: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Findings missing from the file, downgraded in it, or added to it (policy and subject only)."""
    have, want = Counter(map(_frozen, mine)), Counter(map(_frozen, theirs))
    missing, extra = list((want - have).elements()), list((have - want).elements())
    problems: list[str] = []
    for finding in missing:
        found = dict(finding)
        name = f"{found.get('policy')} on {found.get('subject')}"
        relevelled = next((f for f in extra if _unlevelled(f) == _unlevelled(finding)), None)
        if relevelled is not None:
            extra.remove(relevelled)
            problems.append(
                f"findings: {name} is {found.get('level')} when recomputed, "
                f"{dict(relevelled).get('level')} in the file"
            )
        else:
            problems.append(f"findings: the {found.get('level')} finding {name} is missing")
    for finding in extra:
        found = dict(finding)
        problems.append(
            f"findings: the file lists a {found.get('level')} finding {found.get('policy')} "
            f"on {found.get('subject')} that its sources do not give"
        )
    return problems


def _frozen(finding: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """A finding as comparable items; its ``location`` keeps only ``:line:column``.

    The file part of a location is however the Score file was named when planning
    (``web.score.yaml`` given relative to the working directory, or another
    checkout's absolute path); the recomputation names it from the platform root.
    Which file a finding is about is already fixed by its subject and the workloads.
    """
    items = {str(k): str(v) for k, v in finding.items()}
    if finding.get("location"):
        found = _LINE_COLUMN.search(str(finding["location"]))
        items["location"] = found.group(0) if found else ""
    return tuple(sorted(items.items()))


def _unlevelled(finding: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(item for item in finding if item[0] != "level")


def _drift(plan: Plan) -> set[tuple[str, str]]:
    """What a refresh found in reality: resources missing or with changed outputs, and why."""
    return {(c.uid, c.reason) for c in plan.changes if "drift:" in c.reason}
