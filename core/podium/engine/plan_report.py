"""Plans as reviewable artifacts: Markdown for a pull request, and what produced each node.

A plan shown in a pull request (a GitHub job summary, a GitLab merge-request note) is
read by someone who cannot run ``podium plan -v`` against the platform: it must say by
itself what changes, why, which ``[[rules]]`` entry chose each provisioner and which
plugin version will do the work. Everything here reads a finished :class:`Plan`, whose
values the engine already masked (secrets never reach a plan), and masks again on the way
out, like the text renderer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from podium.security.secret import redact

if TYPE_CHECKING:
    from podium.engine.plan import Change, Plan
    from podium.plugins.manager import PluginInfo

#: how many changed attributes a change lists in Markdown before "and N more"
SHOWN_ATTRIBUTES = 20
#: longest value shown in a Markdown cell (the JSON plan has the rest)
CELL_LIMIT = 120
_ICONS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "no-op": " "}
UNKNOWN_VERSION = "unknown"


def plugin_versions(plugins: Iterable[PluginInfo], changes: Sequence[Change]) -> dict[str, str]:
    """The version of each plugin named by a change (observability nodes name several)."""
    versions = {info.name: info.version or UNKNOWN_VERSION for info in plugins}
    named = {name for change in changes for name in change.plugin.split(",") if name}
    return {name: versions.get(name, UNKNOWN_VERSION) for name in sorted(named)}


def produced_by(change: Change, plugins: dict[str, str]) -> str:
    """``local-postgres (local 0.3.1)``: the provider and the plugin version behind a node."""
    names = [name for name in change.plugin.split(",") if name]
    made = ", ".join(f"{name} {plugins.get(name, UNKNOWN_VERSION)}" for name in names)
    return f"{change.provider} ({made})" if made else change.provider


def rule_summary(rule: dict[str, Any] | None) -> str:
    """``rules[2] at podium.toml:24``, or ``""`` for a node no rule chose (a deployment)."""
    if not rule:
        return ""
    where = f" at {rule['file']}:{rule['line']}" if rule.get("file") and rule.get("line") else ""
    return f"rules[{rule.get('index')}]{where}"


def explanation(change: Change, plan: Plan) -> str:
    """Why this node is what it is: which rule or setting chose its provider, and why it won."""
    if change.rule:
        criteria = ", ".join(
            f"{key}={_criterion(value)}"
            for key, value in (change.rule.get("criteria") or {}).items()
        )
        return (
            f"{rule_summary(change.rule)} ({criteria}) chose {change.provider}: "
            f"{change.rule.get('why', '')}"
        ).strip()
    if change.kind == "deployment":
        return (
            f"{change.provider} is the deployer of environment {plan.environment!r} "
            f"([environments.{plan.environment}].deployer)"
        )
    if change.kind == "observability":
        return f"telemetry configured by the plugins {change.plugin.replace(',', ', ')}"
    if change.action == "delete":
        return f"recorded in state as made by {change.provider}; {change.reason}"
    return ""


def explain_lines(plan: Plan, *, rules_shown: bool = False) -> list[str]:
    """``podium plan --explain``: one paragraph per node (unchanged ones too).

    ``rules_shown``: the plan above already printed each resource's rule line (``-v``),
    so a resource's paragraph says only what made it.
    """
    lines = [f"Why each node of {plan.environment!r} is planned this way:"]
    for change in plan.changes:
        lines.append(f"  {change.uid}: {change.action} ({change.reason})")
        lines.append(f"    made by {produced_by(change, plan.plugins)}")
        why = "" if rules_shown and change.rule else explanation(change, plan)
        if why:
            lines.append(f"    {why}")
    return lines


def plan_markdown(plan: Plan, *, explain: bool = False) -> str:
    """The plan as GitHub-flavoured Markdown: summary, changes, attribute diffs, findings.

    ``explain`` adds unchanged nodes to the table and a section saying, for each node,
    why its rule won (what ``podium plan --explain`` prints).
    """
    title = f"Podium plan: `{plan.platform}` / `{plan.environment}`"
    lines = [f"### {title}{' (destroy)' if plan.destroy else ''}", "", f"**{_counts(plan)}**"]
    lines.append("")
    lines.append(
        f"State serial {plan.serial} · config `{plan.config_digest or '-'}` · "
        f"made {plan.created_at or '-'}" + (" · refreshed" if plan.refresh else "")
    )
    if plan.plugins:
        shown = ", ".join(f"{name} {version}" for name, version in sorted(plan.plugins.items()))
        lines.append(f"Plugins: {markdown_cell(shown)}")
    for warning in plan.warnings:
        lines += ["", f"> **Note:** {markdown_cell(warning)}"]
    if plan.take_over:
        lines += [
            "",
            f"> **Takes over from another owner:** {markdown_cell(', '.join(plan.take_over))}",
        ]
    shown_changes = [c for c in plan.changes if c.action != "no-op" or explain]
    lines.append("")
    if shown_changes:
        lines += [
            "| | node | action | reason | made by | rule |",
            "|---|---|---|---|---|---|",
        ]
        for change in shown_changes:
            action = change.action + (" **DATA LOSS**" if change.data_loss else "")
            lines.append(
                "| "
                + " | ".join(
                    [
                        f"`{_ICONS[change.action].strip() or '='}`",
                        f"`{markdown_cell(change.uid)}`",
                        action,
                        markdown_cell(change.reason),
                        markdown_cell(produced_by(change, plan.plugins)),
                        markdown_cell(rule_summary(change.rule)) or "-",
                    ]
                )
                + " |"
            )
    else:
        lines.append("No changes: the environment matches the workloads.")
    diffs = [c for c in plan.changes if c.action in ("update", "replace") and _attributes(c)]
    if diffs:
        lines += ["", "<details><summary>Attribute changes</summary>", ""]
        for change in diffs:
            lines += [f"#### `{markdown_cell(change.uid)}`", "", "| attribute | before | after |"]
            lines.append("|---|---|---|")
            entries = _attributes(change)
            for path, before, after in entries[:SHOWN_ATTRIBUTES]:
                lines.append(f"| `{markdown_cell(path)}` | {_value(before)} | {_value(after)} |")
            if len(entries) > SHOWN_ATTRIBUTES:
                more = len(entries) - SHOWN_ATTRIBUTES
                lines.append(f"| and {more} more | (see the JSON plan) | |")
            lines.append("")
        lines.append("</details>")
    if plan.findings:
        lines += ["", "#### Findings", "", "| level | policy | subject | message |"]
        lines.append("|---|---|---|---|")
        for finding in plan.findings:
            level = f"**{finding.level}**" if finding.level == "mandatory" else finding.level
            lines.append(
                f"| {level} | `{markdown_cell(finding.policy)}` | {markdown_cell(finding.subject or '-')} | "
                f"{markdown_cell(finding.message)}"
                + (f" ({markdown_cell(finding.location)})" if finding.location else "")
                + " |"
            )
    if explain:
        lines += ["", "#### Why", ""]
        for change in plan.changes:
            why = explanation(change, plan)
            lines.append(f"- `{markdown_cell(change.uid)}`: {markdown_cell(why or change.reason)}")
    blocking = plan.blocking_findings
    if blocking:
        lines += ["", f"**Blocked by {len(blocking)} mandatory finding(s): apply will refuse.**"]
    return "\n".join(lines) + "\n"


def _counts(plan: Plan) -> str:
    counts = plan.counts
    return (
        f"{counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['delete']} to delete, "
        f"{counts['no-op']} unchanged."
    )


def _attributes(change: Change) -> list[tuple[str, Any, Any]]:
    """(path, before, after) per changed attribute: the engine's diff, else the changed keys."""
    if change.diff:
        return [(str(e.get("path")), e.get("before"), e.get("after")) for e in change.diff]
    return [(key, _lookup(change.before, key), _lookup(change.spec, key)) for key in change.changed]


def _lookup(spec: dict[str, Any] | None, path: str) -> Any:
    current: Any = spec or {}
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _value(value: Any) -> str:
    if value is None:
        return "*(absent)*"
    text = json.dumps(redact(value), sort_keys=True, default=str)
    if len(text) > CELL_LIMIT:
        text = text[: CELL_LIMIT - 3] + "..."
    return f"`{markdown_cell(text)}`"


def markdown_cell(text: str) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks, no raw HTML."""
    return (
        str(text)
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def _criterion(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
