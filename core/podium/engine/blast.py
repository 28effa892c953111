"""Blast radius: plan every deployed workload in every environment against today's platform.

A platform change (an edited ``podium.toml``, a plugin upgrade) changes what the same
Score files plan to. Before rolling it out, ``podium plan --all`` replans everything
that is deployed, from the Score source each deployment record keeps (see
:attr:`podium.platform.contract.ResourceRecord.source`), and says which workloads and
environments would change and why. Nothing is applied; the plans are not for applying
(each environment's teams apply their own, from their own files).

Deployments recorded before Podium kept sources cannot be replanned: they are listed as
``unplanned`` with the reason; the workload's next deploy (any change to it) records one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.engine.plan import Plan
    from podium.platform.contract import ResourceRecord
    from podium.security.contract import Finding
    from podium.workload.model import Workload


@dataclass
class Unplanned:
    """A deployed workload ``plan --all`` could not replan, and why."""

    environment: str
    workload: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"environment": self.environment, "workload": self.workload, "reason": self.reason}


@dataclass
class WorkloadImpact:
    """What the platform change does to one workload in one environment."""

    environment: str
    workload: str
    counts: dict[str, int]
    #: ``uid: action (reason)`` per changed node
    changes: list[str]

    @property
    def changed(self) -> bool:
        return any(n for action, n in self.counts.items() if action != "no-op")

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "workload": self.workload,
            "changed": self.changed,
            "counts": dict(self.counts),
            "changes": list(self.changes),
        }


@dataclass
class BlastRadius:
    """Every environment's plan of its deployed workloads, and what could not be planned."""

    plans: list[Plan]
    unplanned: list[Unplanned] = field(default_factory=list)
    #: every environment looked at (one with nothing deployed has no plan)
    environments: list[str] = field(default_factory=list)

    @property
    def impacts(self) -> list[WorkloadImpact]:
        found: list[WorkloadImpact] = []
        for plan in self.plans:
            by_workload: dict[str, list[Any]] = {}
            for change in plan.changes:
                by_workload.setdefault(change.workload or "(shared)", []).append(change)
            for name, changes in sorted(by_workload.items()):
                counter = Counter(c.action for c in changes)
                found.append(
                    WorkloadImpact(
                        environment=plan.environment,
                        workload=name,
                        counts={a: counter.get(a, 0) for a in _ACTIONS},
                        changes=[
                            f"{c.uid}: {c.action} ({c.reason})"
                            for c in changes
                            if c.action != "no-op"
                        ],
                    )
                )
        return found

    @property
    def findings(self) -> list[tuple[str, Finding]]:
        return [(plan.environment, f) for plan in self.plans for f in plan.findings]

    @property
    def blocking_findings(self) -> list[tuple[str, Finding]]:
        return [(plan.environment, f) for plan in self.plans for f in plan.blocking_findings]

    def to_dict(self) -> dict[str, Any]:
        impacts = self.impacts
        return {
            "environments": list(self.environments),
            "changed": [i.to_dict() for i in impacts if i.changed],
            "unchanged": [
                {"environment": i.environment, "workload": i.workload}
                for i in impacts
                if not i.changed
            ],
            "unplanned": [u.to_dict() for u in self.unplanned],
            "findings": [{"environment": env, **f.to_dict()} for env, f in self.findings],
            "blocking": len(self.blocking_findings),
            "plans": [p.to_dict() for p in self.plans],
        }


_ACTIONS = ("create", "update", "replace", "delete", "no-op")


def plan_all(
    platform: Platform, *, environments: Sequence[str] | None = None, refresh: bool = False
) -> BlastRadius:
    """Plan each deployed workload of each environment (all of ``podium.toml``'s by default)."""
    radius = BlastRadius(plans=[], environments=list(environments or platform.environments))
    for env in radius.environments:
        records = platform.store(env).records()
        workloads, unplanned = deployed_workloads(platform, env, records)
        radius.unplanned.extend(unplanned)
        # Workloads without a Score file are owned as their records say: plan each owner's
        # apart (Platform.plan takes one owner for the workloads it has no file for).
        groups: dict[str | None, list[Workload]] = {}
        owners = {r.physical_name or r.uid: r.owner for r in records if r.kind == "deployment"}
        for workload in workloads:
            key = None if workload.path is not None else owners.get(workload.name)
            groups.setdefault(key, []).append(workload)
        for owner, group in groups.items():
            radius.plans.append(platform.plan(env, group, refresh=refresh, owner=owner))
    return radius


def deployed_workloads(
    platform: Platform, env: str, records: Sequence[ResourceRecord]
) -> tuple[list[Workload], list[Unplanned]]:
    """The workloads deployed in ``env``, parsed from the sources their records keep."""
    from podium.errors import InputError
    from podium.workload.loader import load_workload_text

    workloads: list[Workload] = []
    unplanned: list[Unplanned] = []
    for record in sorted(records, key=lambda r: r.uid):
        if record.kind != "deployment":
            continue
        name = record.physical_name or record.uid.split(":", 1)[-1]
        source = record.source or {}
        text = source.get("text")
        if not isinstance(text, str):
            unplanned.append(
                Unplanned(
                    env,
                    name,
                    "deployed before Podium recorded Score sources: its next deploy records one",
                )
            )
            continue
        path = source.get("path") or ""
        shown: Any = platform.root / path if path else f"<state:{env}/{name}>"
        try:
            workloads.append(
                load_workload_text(text, shown, private_paths=platform._private_paths())
            )
        except InputError as exc:  # valid when deployed; invalid under today's Podium
            unplanned.append(Unplanned(env, name, f"its recorded Score source: {exc}"))
    return workloads, unplanned


def blast_text(radius: BlastRadius) -> list[str]:
    """The summary ``podium plan --all`` prints: per environment, what changes and why."""
    lines: list[str] = []
    impacts = radius.impacts
    for env in radius.environments:
        mine = [i for i in impacts if i.environment == env]
        changed = [i for i in mine if i.changed]
        lines.append(
            f"{env}: {len(changed)} of {len(mine)} workload(s) change"
            if mine
            else f"{env}: nothing deployed"
        )
        for impact in changed:
            lines.append(f"  {impact.workload}: {_summary(impact.counts)}")
            lines.extend(f"    {line}" for line in impact.changes[:10])
            if len(impact.changes) > 10:
                lines.append(f"    and {len(impact.changes) - 10} more (see --json)")
    for item in radius.unplanned:
        lines.append(f"not planned: {item.environment}/{item.workload}: {item.reason}")
    for env, finding in radius.findings:
        subject = f" [{finding.subject}]" if finding.subject else ""
        lines.append(f"{finding.level}: {env}: {finding.policy}{subject}: {finding.message}")
    total = sum(1 for i in impacts if i.changed)
    envs = len({i.environment for i in impacts if i.changed})
    lines.append(
        f"Blast radius: {total} workload(s) change in {envs} environment(s)"
        + (f"; {len(radius.unplanned)} not planned" if radius.unplanned else "")
        + "."
    )
    if radius.blocking_findings:
        lines.append(f"Blocked by {len(radius.blocking_findings)} mandatory finding(s).")
    return lines


def blast_markdown(radius: BlastRadius) -> str:
    """The same summary as Markdown, for a pull request that changes the platform."""
    impacts = radius.impacts
    lines = ["### Podium blast radius", ""]
    total = sum(1 for i in impacts if i.changed)
    envs = len({i.environment for i in impacts if i.changed})
    lines += [f"**{total} workload(s) change in {envs} environment(s).**", ""]
    if impacts:
        lines += ["| environment | workload | changes | why |", "|---|---|---|---|"]
        for impact in impacts:
            why = "; ".join(impact.changes[:5]) + (" ..." if len(impact.changes) > 5 else "")
            lines.append(
                f"| {impact.environment} | `{impact.workload}` | "
                f"{_summary(impact.counts) if impact.changed else 'unchanged'} | "
                f"{_escape(why) or '-'} |"
            )
    for item in radius.unplanned:
        lines += ["", f"> not planned: {item.environment}/{item.workload}: {_escape(item.reason)}"]
    if radius.findings:
        lines += ["", "| environment | level | policy | message |", "|---|---|---|---|"]
        for env, finding in radius.findings:
            lines.append(
                f"| {env} | {finding.level} | `{finding.policy}` | {_escape(finding.message)} |"
            )
    if radius.blocking_findings:
        count = len(radius.blocking_findings)
        lines += ["", f"**Blocked by {count} mandatory finding(s).**"]
    return "\n".join(lines) + "\n"


def _summary(counts: dict[str, int]) -> str:
    parts = [f"{counts[a]} to {a}" for a in _ACTIONS if a != "no-op" and counts.get(a)]
    return ", ".join(parts) or "no changes"


def _escape(text: str) -> str:
    from podium.engine.plan_report import markdown_cell

    return markdown_cell(text)
