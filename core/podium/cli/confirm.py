"""One confirmation policy for ``apply``, ``up`` and ``destroy``.

* A plan that deletes or replaces something asks first, when a person can answer:
  stdin and stderr are a terminal and the output is not ``--json``. The default
  answer is no; declining changes nothing (exit 130, like any interrupted command).
* Creates and updates never ask: they take nothing away. A question about a plan that
  destroys a data store's data (DATA LOSS) names those resources.
* ``--yes`` answers yes. Applying a saved plan file does not ask: reviewing it was
  the approval (``podium plan --out`` showed it).
* Without a terminal (CI, pipes, ``--json``) Podium never asks and does what the
  command says, like ``make`` or ``kubectl``; what protects data there is the plan's
  policy check, not a question nobody can answer.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from podium.cli.context import CliState

if TYPE_CHECKING:
    from podium.engine.plan import Plan

DESTRUCTIVE = ("delete", "replace")


def can_ask(state: CliState) -> bool:
    """Whether a person is there to answer: stdin and stderr are a terminal, no --json."""
    return not state.json_output and sys.stdin.isatty() and sys.stderr.isatty()


def question(plan: Plan) -> str | None:
    """What to ask before applying ``plan``; ``None`` when it removes nothing."""
    destructive = [c for c in plan.changes if c.action in DESTRUCTIVE]
    if not destructive:
        return None
    from podium.engine.data_loss import data_loss_uids

    lost = data_loss_uids(plan.changes)
    data = f" This plan destroys the data of {', '.join(lost)}." if lost else ""
    env = plan.environment
    if plan.destroy:
        # a destroy names what it was asked to remove: -w names, -f files' workloads
        workloads = plan.scope or sorted({c.workload for c in destructive if c.workload})
        if plan.scope is not None:
            names = ", ".join(repr(name) for name in workloads)
            noun = "workload" if len(workloads) == 1 else "workloads"
            return f"Destroy {noun} {names} in {env!r} ({len(destructive)} node(s))?{data}"
        return f"Destroy everything in {env!r} ({len(destructive)} node(s))?{data}"
    deletes = sum(1 for c in destructive if c.action == "delete")
    replaces = len(destructive) - deletes
    parts = [f"delete {deletes}"] if deletes else []
    parts += [f"replace {replaces}"] if replaces else []
    affected = sorted({c.workload for c in destructive if c.workload})
    where = f" of {', '.join(affected)}" if affected else ""
    return f"This will {' and '.join(parts)} node(s){where} in {env!r}.{data} Continue?"


def confirm_destructive(state: CliState, plan: Plan, *, yes: bool) -> None:
    """Ask before a destructive plan when a person can answer; raise Abort on no."""
    text = question(plan)
    if text is None or yes or plan.blocking_findings or not can_ask(state):
        return
    click.confirm(text, default=False, abort=True, err=True)
