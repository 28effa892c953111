"""``podium secrets``: the platform's secret store."""

from __future__ import annotations

import sys

import click

from podium.cli.context import get_state
from podium.cli.options import json_option


@click.group("secrets")
def secrets_group() -> None:
    """Set, read, list and delete secrets in the platform's secret store."""


@secrets_group.command("set")
@click.argument("key")
@click.option("--value", help="The value (visible in shell history: prefer stdin or the prompt).")
@click.pass_context
def set_cmd(ctx: click.Context, key: str, value: str | None) -> None:
    """Store a secret: from --value, piped stdin, or a hidden prompt."""
    from podium.security.secret import Secret

    if value is None:
        if sys.stdin.isatty():
            value = click.prompt(f"Value for {key}", hide_input=True, confirmation_prompt=True)
        else:
            value = sys.stdin.read().rstrip("\n")
    get_state(ctx).platform().secrets.put(key, Secret(value))
    click.echo(f"stored {key}")


@secrets_group.command("get")
@click.argument("key")
@click.option("--reveal", is_flag=True, help="Print the value (otherwise only whether it exists).")
@click.pass_context
def get_cmd(ctx: click.Context, key: str, reveal: bool) -> None:
    """Check a secret exists; print it only with --reveal."""
    state = get_state(ctx)
    secret = state.platform().secrets.get(key)
    state.echo_document(secret.reveal() if reveal else f"{key} = {secret}")


@secrets_group.command("list")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """List secret keys (never values)."""
    state = get_state(ctx)
    keys = state.platform().secrets.list()
    if state.json_output:
        state.echo_json(keys)
    else:
        for key in keys:
            click.echo(key)


@secrets_group.command("delete")
@click.argument("key")
@click.pass_context
def delete_cmd(ctx: click.Context, key: str) -> None:
    """Delete a secret (deleting a missing key succeeds)."""
    get_state(ctx).platform().secrets.delete(key)
    click.echo(f"deleted {key}")
