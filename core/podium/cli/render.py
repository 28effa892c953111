"""Human renderings of plans, results and status. Secrets are already redacted upstream."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from podium.cli.context import colour as colour_setting
from podium.security.secret import redact

if TYPE_CHECKING:
    from podium.deployment.contract import WorkloadStatus
    from podium.engine.apply import ApplyResult
    from podium.engine.plan import Change, Plan
    from podium.observability.contract import Event
    from podium.security.contract import Finding

SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "no-op": " "}
COLOURS = {
    "create": "green",
    "update": "yellow",
    "replace": "magenta",
    "delete": "red",
    "no-op": None,
}
STATUS_COLOURS = {"ready": "green", "partial": "yellow", "down": "red", "absent": "bright_black"}


def _value(value: Any) -> str:
    text = json.dumps(redact(value), sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _lookup(spec: dict[str, Any] | None, path: str) -> Any:
    current: Any = spec or {}
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return "(absent)"
        current = current[part]
    return current


def render_change(change: Change, verbose: bool) -> list[str]:
    symbol = SYMBOLS[change.action]
    head = click.style(
        f"{symbol:>3} {change.action:<8} {change.uid}",
        fg=COLOURS[change.action],
        bold=change.action != "no-op",
    )
    if change.replaces is not None:  # a class change: one replace of the old uid
        head = click.style(
            f"-/+ replace  {change.replaces} -> {change.uid}", fg="magenta", bold=True
        )
    if change.data_loss:
        head += " " + click.style("DATA LOSS", fg="red", bold=True)
    lines = [f"{head}  [{change.provider}] {click.style(change.reason, dim=True)}"]
    if change.diff:
        lines.extend(render_attribute_diff(change.diff))
    elif change.action in ("update", "replace"):
        for key in change.changed[:12]:
            old, new = _lookup(change.before, key), _lookup(change.spec, key)
            lines.append(f"        {key}: {_value(old)} -> {_value(new)}")
    elif verbose and change.action == "create":
        params = {**(change.spec.get("rule_params") or {}), **(change.spec.get("params") or {})}
        if params:
            lines.append(f"        params: {_value(params)}")
    if verbose and change.rule:
        lines.append(render_rule(change.rule))
    return lines


#: how many changed attributes a change lists before "and N more"
SHOWN_ATTRIBUTES = 12


def render_attribute_diff(diff: list[dict[str, Any]]) -> list[str]:
    """``containers.main.image: "web:1" -> "web:2"``, one line per changed attribute.

    Values come masked from the engine (see podium.engine.attribute_diff); ``None`` is absent.
    """
    lines = []
    for entry in diff[:SHOWN_ATTRIBUTES]:
        old, new = entry.get("before"), entry.get("after")
        shown_old = "(absent)" if old is None else _value(old)
        shown_new = "(absent)" if new is None else _value(new)
        lines.append(f"        {entry.get('path')}: {shown_old} -> {shown_new}")
    if len(diff) > SHOWN_ATTRIBUTES:
        lines.append(f"        and {len(diff) - SHOWN_ATTRIBUTES} more (see --json)")
    return lines


def render_rule(rule: dict[str, Any]) -> str:
    """``rule: rules[2] at podium.toml:24 (type=postgres, environment=prod): why it won``."""
    where = f" at {rule['file']}:{rule['line']}" if rule.get("file") and rule.get("line") else ""
    criteria = ", ".join(f"{k}={_criterion(v)}" for k, v in (rule.get("criteria") or {}).items())
    return click.style(
        f"        rule: rules[{rule.get('index')}]{where} ({criteria}): {rule.get('why', '')}",
        dim=True,
    )


def _criterion(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def render_plan(plan: Plan, *, verbose: bool = False) -> str:
    lines = [
        click.style(
            f"Plan for platform {plan.platform!r}, environment {plan.environment!r}"
            f"{' (destroy)' if plan.destroy else ''}",
            bold=True,
        )
    ]
    for warning in plan.warnings:
        lines.append(click.style(f"  note: {warning}", fg="cyan"))
    if plan.take_over:
        taken = ", ".join(plan.take_over)
        lines.append(click.style(f"  takes over from another owner: {taken}", fg="yellow"))
    # the delete half of a class change is shown in its create's replace line
    shown = [c for c in plan.changes if (c.action != "no-op" or verbose) and not c.replaced_by]
    lines.extend(line for change in shown for line in render_change(change, verbose))
    if not plan.has_changes:
        lines.append("  No changes: the environment matches the workloads.")
    lines.extend("  " + render_finding(finding) for finding in plan.findings)
    counts = dict(plan.counts)
    for _ in filter(lambda c: c.replaces, plan.changes):  # each class change: one replace
        counts["create"], counts["delete"] = counts["create"] - 1, counts["delete"] - 1
        counts["replace"] += 1
    lines.append(
        click.style("Plan: ", bold=True)
        + ", ".join(
            [
                click.style(f"{counts['create']} to create", fg="green"),
                click.style(f"{counts['update']} to update", fg="yellow"),
                click.style(f"{counts['replace']} to replace", fg="magenta"),
                click.style(f"{counts['delete']} to delete", fg="red"),
                f"{counts['no-op']} unchanged",
            ]
        )
        + "."
    )
    if plan.blocking_findings:
        lines.append(
            click.style(f"Blocked by {len(plan.blocking_findings)} mandatory finding(s).", fg="red")
        )
    return "\n".join(lines)


def render_result(result: ApplyResult) -> str:
    counts = result.counts
    colour = "green" if result.ok else "red"
    lines = []
    for item in result.results:
        if item.status == "failed":
            lines.append(click.style(f"  failed   {item.uid}: {item.message}", fg="red"))
        elif item.status == "skipped":
            lines.append(click.style(f"  skipped  {item.uid}: {item.message}", fg="bright_black"))
    lines.append(
        click.style(
            f"Apply {'complete' if result.ok else 'FAILED'}: {counts['succeeded']} changed, "
            f"{counts['unchanged']} unchanged, {counts['failed']} failed, {counts['skipped']} skipped "
            f"in {result.seconds:.1f}s.",
            fg=colour,
            bold=True,
        )
    )
    return "\n".join(lines)


def render_status(statuses: list[WorkloadStatus], now: datetime | None = None) -> str:
    if not statuses:
        return "No workloads deployed."
    lines = []
    for status in statuses:
        state = click.style(f"{status.state:<8}", fg=STATUS_COLOURS.get(status.state), bold=True)
        urls = "  ".join(status.urls)
        template = f"  [{status.template}]" if status.template else ""
        age = _age(status.checked_at, now)
        lines.append(f"{state} {status.workload:<24} {urls}{template}{age}".rstrip())
        if status.message and status.state != "ready":
            lines.append(f"         {status.message}")
        for name, container in status.containers.items():
            extra = f" ({container.message})" if container.message else ""
            restarts = f", {container.restarts} restarts" if container.restarts else ""
            lines.append(f"         - {name}: {container.state}{restarts}{extra}")
        for plugin, signals in status.signals.items():
            lines.append(f"         {plugin}: {describe_signals(signals)}")
    return "\n".join(lines)


def describe_signals(signals: dict[str, Any]) -> str:
    """One line from a monitoring plugin's signals (the common keys first, then the rest)."""
    parts = []
    if "scraped" in signals:
        parts.append("scraped" if signals["scraped"] else "not scraped")
    if "up" in signals and signals.get("scraped", True):
        parts.append("up" if signals["up"] else "DOWN")
    if signals.get("requests_per_second") is not None:
        parts.append(f"{signals['requests_per_second']:g} req/s")
    if signals.get("errors_per_second") is not None:
        parts.append(f"{signals['errors_per_second']:g} errors/s")
    if signals.get("firing"):
        parts.append("firing: " + ", ".join(map(str, signals["firing"])))
    for key in ("error", "message"):
        if signals.get(key):
            parts.append(str(signals[key]))
    return ", ".join(parts) or "no signals"


def _age(checked_at: datetime | None, now: datetime | None) -> str:
    """`` (checked 4s ago)`` for recorded health; nothing for health checked just now."""
    if checked_at is None:
        return ""
    seconds = max(0.0, ((now or datetime.now(UTC)) - checked_at).total_seconds())
    shown = f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"
    return click.style(f"  (checked {shown} ago; --probe checks now)", dim=True)


#: how the live line names a running change
VERBS = {"create": "creating", "update": "updating", "replace": "replacing", "delete": "deleting"}
FINISHED = ("node.succeeded", "node.failed", "node.skipped")


class Progress:
    """Prints one line per finished node, on stderr, driven by the engine's events.

    On a terminal it also keeps a live line under them: a spinner, the count, and
    the change that has run longest with its seconds, so a long wait (a deployer
    waiting for readiness, a database starting) is visibly a wait. Off a terminal
    there is no live line, and under --json no progress at all (the caller does not
    subscribe). Colour follows the terminal and ``NO_COLOR``.
    """

    def __init__(self, total: int, interactive: bool) -> None:
        self.total = total
        self.done = 0
        self.interactive = interactive and sys.stderr.isatty()
        self._lock = threading.Lock()
        #: running changes: node -> (action, when it started, monotonic seconds)
        self._running: dict[str, tuple[str, float]] = {}
        self._live: Any = None
        if self.interactive:
            from rich.console import Console
            from rich.live import Live

            # rich honours NO_COLOR and TERM=dumb itself
            console = Console(stderr=True, highlight=False)
            self._live = Live(
                _LiveLine(self), console=console, transient=True, refresh_per_second=4
            )
            self._live.start()

    def __call__(self, event: Event) -> None:
        if event.kind == "node.started" and event.node:
            with self._lock:
                action = str(event.data.get("action", ""))
                self._running[event.node] = (action, time.monotonic())
            return
        if event.kind not in (*FINISHED, "node.retrying", "reconcile"):
            return
        with self._lock:
            if event.kind in FINISHED:
                self.done += 1
                self._running.pop(event.node or "", None)
            colour = {
                "node.failed": "red",
                "node.skipped": "bright_black",
                "node.retrying": "yellow",
            }.get(event.kind, "green")
            tag = event.kind.split(".", 1)[1]
            line = click.style(f"  {tag:<9}", fg=colour) + f" {event.node}: {event.message}"
            live = self._live
        # outside the lock: rich's refresh thread takes its own lock, then live_text ours
        if live is not None:
            from rich.text import Text

            live.console.print(Text.from_ansi(line))
        else:
            click.echo(line, err=True, color=colour_setting())

    def live_text(self) -> str:
        """The live line's text: the count and the longest-running change."""
        with self._lock:
            running = sorted(self._running.items(), key=lambda item: item[1][1])
            done = self.done
        text = f"[{done}/{self.total}]"
        if running:
            node, (action, started) = running[0]
            text += f" {VERBS.get(action, action)} {node} ({time.monotonic() - started:.0f}s)"
            if len(running) > 1:
                text += f", {len(running) - 1} more running"
        return text

    def finish(self) -> None:
        with self._lock:
            live, self._live = self._live, None
        if live is not None:
            live.stop()


class _LiveLine:
    """The renderable rich redraws a few times a second (so the seconds advance)."""

    def __init__(self, progress: Progress) -> None:
        from rich.spinner import Spinner

        self.progress = progress
        self.spinner = Spinner("dots")  # one spinner, so that it turns

    def __rich__(self) -> Any:
        self.spinner.update(text=self.progress.live_text())
        return self.spinner


def render_finding(finding: Finding) -> str:
    """``level: policy: subject: message (file:line)``, the level coloured: one format for
    validate and plan."""
    colour = "red" if finding.level == "mandatory" else "yellow"
    where = f" ({finding.location})" if finding.location else ""
    subject = f"{finding.subject}: " if finding.subject else ""
    return click.style(f"{finding.level}: {finding.policy}: ", fg=colour) + (
        f"{subject}{finding.message}{where}"
    )
