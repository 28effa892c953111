"""``podium state``: inspect and repair an environment's state."""

from __future__ import annotations

import dataclasses

import click

from podium.cli.context import get_state
from podium.cli.options import env_option, files_option, json_option, resolve_env, resolve_files
from podium.cli.run_control import lock_timeout_option


@click.group("state")
def state_group() -> None:
    """Inspect and repair state (records, locks, pending intents)."""


@state_group.command("list")
@env_option
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, env: str | None) -> None:
    """List every node recorded in state."""
    state = get_state(ctx)
    records = state.platform().store(resolve_env(state, env)).records()
    if state.json_output:
        state.echo_json(
            [
                {
                    "uid": r.uid,
                    "kind": r.kind,
                    "provider": r.provider,
                    "physical_name": r.physical_name,
                    "updated_at": r.updated_at,
                }
                for r in records
            ]
        )
        return
    for record in records:
        click.echo(
            f"{record.kind:<13} {record.uid:<48} {record.provider:<18} {record.physical_name or ''}"
        )


@state_group.command("show")
@env_option
@click.argument("uid")
@json_option
@click.pass_context
def show_cmd(ctx: click.Context, env: str | None, uid: str) -> None:
    """Show one record (secrets redacted)."""
    from podium.errors import NotFoundError
    from podium.security.secret import redact

    state = get_state(ctx)
    platform = state.platform()
    environment = resolve_env(state, env)
    for record in platform.store(environment).records():
        if record.uid == uid:
            data = record.to_dict()
            cipher = platform.cipher(environment)
            data["outputs"] = redact(cipher.unseal(record.outputs))
            data["spec"] = redact(cipher.unseal(record.spec))
            state.echo_json(data)
            return
    raise NotFoundError(f"no record {uid!r} in {environment!r}")


@state_group.command("forget")
@env_option
@click.argument("uid")
@json_option
@click.pass_context
def forget_cmd(ctx: click.Context, env: str | None, uid: str) -> None:
    """Drop a record without touching the real resource."""
    state = get_state(ctx)
    environment = resolve_env(state, env)
    state.platform().forget(environment, uid)
    if state.json_output:
        state.echo_json({"environment": environment, "forgot": uid})
    else:
        click.echo(f"forgot {uid}")


@state_group.command("import")
@env_option
@files_option
@click.argument("uid")
@click.argument("physical_name")
@json_option
@click.pass_context
def import_cmd(
    ctx: click.Context, env: str | None, files: tuple[str, ...], uid: str, physical_name: str
) -> None:
    """Adopt an existing resource, found by its physical name, as node UID."""
    state = get_state(ctx)
    record = state.platform().import_resource(
        resolve_env(state, env), resolve_files(state, files), uid, physical_name
    )
    if state.json_output:
        state.echo_json({"imported": record.uid, "physical_name": record.physical_name})
    else:
        click.echo(f"imported {record.uid} as {record.physical_name}")


@state_group.command("unlock")
@env_option
@json_option
@click.pass_context
def unlock_cmd(ctx: click.Context, env: str | None) -> None:
    """Remove a stale lock (make sure its holder is really gone)."""
    state = get_state(ctx)
    previous = state.platform().unlock(resolve_env(state, env))
    if state.json_output:
        removed = None if previous is None else dataclasses.asdict(previous)
        state.echo_json({"environment": state.environment, "removed": removed})
    elif previous is None:
        click.echo("no lock was held")
    else:
        click.echo(
            f"removed the lock of {previous.owner} (pid {previous.pid}, {previous.operation})"
        )


@state_group.command("intents")
@env_option
@json_option
@click.pass_context
def intents_cmd(ctx: click.Context, env: str | None) -> None:
    """List pending intents: changes begun whose outcome is not recorded."""
    state = get_state(ctx)
    pending = state.platform().intents(resolve_env(state, env))
    if state.json_output:
        state.echo_json([intent.to_dict() for intent in pending])
        return
    if not pending:
        click.echo("no pending intents")
    for intent in pending:
        where = f" {intent.physical_name}" if intent.physical_name else ""
        click.echo(
            f"{intent.action:<8} {intent.node:<48} {intent.provider}{where} "
            f"(run {intent.run_id[:12]}, {intent.started_at})"
        )


@state_group.command("resolve")
@env_option
@click.argument("node")
@click.option(
    "--gone", "how", flag_value="gone", help="Its resource does not exist: the record goes."
)
@click.option(
    "--adopt",
    "how",
    flag_value="adopt",
    help="It exists as journaled: record it (the next apply updates it).",
)
@click.option("--retry", "how", flag_value="retry", help="Ask its provider again.")
@json_option
@click.pass_context
def resolve_cmd(ctx: click.Context, env: str | None, node: str, how: str | None) -> None:
    """Settle a pending intent of NODE that reconcile could not check."""
    from podium.errors import InputError

    if how is None:
        raise InputError("say how to resolve it", hint="--gone, --adopt or --retry")
    state = get_state(ctx)
    environment = resolve_env(state, env)
    notes = state.platform().resolve_intent(environment, node, how)
    if state.json_output:
        state.echo_json({"environment": environment, "node": node, "resolved": notes})
    else:
        for note in notes:
            click.echo(note)


@state_group.command("rekey")
@lock_timeout_option
@json_option
@click.pass_context
def rekey_cmd(ctx: click.Context, lock_timeout: float) -> None:
    """Rotate the state key and seal every secret again (state and secret store).

    Crash-safe: until it finishes both keys open every value, and running it
    again after an interruption finishes the rotation.
    """
    state = get_state(ctx)
    result = state.platform().rekey(
        lock_timeout=lock_timeout,
        on_step=None if state.json_output else lambda step: state.echo_err(f"rekey: {step}"),
    )
    if state.json_output:
        state.echo_json(dataclasses.asdict(result))
        return
    resumed = " (finished an interrupted rekey)" if result.resumed else ""
    click.echo(f"rotated the state key in {result.key}{resumed}; re-sealed {result.total} values")
