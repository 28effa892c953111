"""``podium audit``: list and verify the hash-chained audit trail (the history's records)."""

from __future__ import annotations

from typing import Any

import click

from podium.cli.context import CliState, get_state
from podium.cli.options import json_option


def _envs_option(func: Any) -> Any:
    return click.option(
        "-e",
        "--env",
        "env",
        help="Environment (default: -e before the subcommand or PODIUM_ENV, else every "
        "environment).",
    )(func)


def _environments(state: CliState, env: str | None) -> list[str]:
    chosen = env or state.env
    return [chosen] if chosen else list(state.platform().environments)


@click.group("audit")
def audit_group() -> None:
    """The audit trail: every run, rollback, secret change, state edit, blocked attempt and
    secret reveal, append-only and hash-chained (``podium history`` shows the same records,
    one line per entry)."""


@audit_group.command("list")
@_envs_option
@click.option(
    "--limit", "-n", type=int, default=20, show_default=True, help="Records per environment."
)
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, env: str | None, limit: int) -> None:
    """The newest records, newest first: who, what, when, plan digest, result, decision.

    A run has two records: its start and its outcome (which names the start's entry).
    """
    state = get_state(ctx)
    platform = state.platform()
    records = [r for name in _environments(state, env) for r in platform.audit(name, limit)]
    if state.json_output:
        state.echo_json(records)
        return
    for r in records:
        outcome = f" (outcome of #{r['entry_id']})" if r["entry_id"] != r["id"] else ""
        digest = f" plan {r['plan_digest'][:12]}" if r["plan_digest"] else ""
        click.echo(
            f"{r['environment']}:{r['seq']:<5} {r['recorded_at'][:19]}  {r['who'] or '?':<22} "
            f"{r['what'] or r['kind']:<24} {r['result']:<10} {r['decision']}{digest}{outcome}  "
            f"{r['hash'][:12]}"
        )


@audit_group.command("verify")
@_envs_option
@json_option
@click.pass_context
def verify_cmd(ctx: click.Context, env: str | None) -> None:
    """Check the chain of every record: an edited, deleted or reordered record is found, and
    the first bad one named (exit 1). Prints each chain's head: keep it elsewhere to also
    catch a rewrite of the whole chain. A state backend without a chain fails (exit 1)."""
    state = get_state(ctx)
    platform = state.platform()
    verdicts = [platform.verify_audit(name) for name in _environments(state, env)]
    if state.json_output:
        state.echo_json(verdicts)
    else:
        for v in verdicts:
            if v["ok"]:
                click.echo(
                    f"{v['environment']}: ok, {v['records']} records, head {v['head']['seq']} "
                    f"{v['head']['hash']}"
                )
            else:
                click.echo(f"{v['environment']}: BROKEN at {_where(v)}: {v['problem']}")
    broken = [v for v in verdicts if not v["ok"]]
    if broken:
        from podium.errors import StateError

        raise StateError(
            "the audit trail is broken: "
            + "; ".join(f"{v['environment']} at {_where(v)}" for v in broken),
            hint="restore the state from a backup and compare; the records before the first "
            "bad one are intact",
        )


def _where(verdict: dict[str, Any]) -> str:
    where = f"record {verdict['first_bad_seq']}"
    if verdict["first_bad_id"] is not None:
        where += f" (row id {verdict['first_bad_id']})"
    return where
