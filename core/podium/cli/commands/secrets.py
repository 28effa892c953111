"""``podium secrets``: the platform's secret store, platform-wide or per environment."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from podium.cli.context import get_state
from podium.cli.options import json_option

F = TypeVar("F", bound=Callable[..., Any])


def scope_option(func: F) -> F:
    # No PODIUM_ENV fallback: a secret lands platform-wide only when -e is left out on purpose.
    return click.option(
        "-e",
        "--env",
        "env",
        default=None,
        help="The environment whose own value to use (overrides the platform-wide one "
        "there); without it, the platform-wide secret.",
    )(func)


@click.group("secrets")
def secrets_group() -> None:
    """Set, read, list and delete secrets in the platform's secret store."""


@secrets_group.command("set")
@click.argument("key")
@click.option("--value", help="The value (visible in shell history: prefer stdin or the prompt).")
@scope_option
@json_option
@click.pass_context
def set_cmd(ctx: click.Context, key: str, value: str | None, env: str | None) -> None:
    """Store a new version of a secret: from --value, piped stdin, or a hidden prompt.

    The next plan updates the workloads that use it (reason: secret KEY rotated).
    """
    from podium.security.secret import Secret

    if value is None:
        if sys.stdin.isatty():
            value = click.prompt(f"Value for {key}", hide_input=True, confirmation_prompt=True)
        else:
            value = sys.stdin.read().rstrip("\n")
    state = get_state(ctx)
    version = state.platform().set_secret(key, Secret(value), env=env)
    if state.json_output:
        state.echo_json({"key": key, "environment": env, "version": version or None})
        return
    scope = f" for {env}" if env else ""
    click.echo(f"stored {key}{scope}" + (f" (version {version})" if version else ""))


@secrets_group.command("get")
@click.argument("key")
@click.option("--reveal", is_flag=True, help="Print the value (otherwise only whether it exists).")
@scope_option
@json_option
@click.pass_context
def get_cmd(ctx: click.Context, key: str, reveal: bool, env: str | None) -> None:
    """Check a secret exists; print it only with --reveal.

    With -e, the value that environment uses: its own, else the platform-wide one.
    """
    state = get_state(ctx)
    platform = state.platform()
    store = platform.environment(env).secret_store if env else platform.secrets
    secret = store.get(key)
    if reveal:
        from podium.engine.audit import record_reveal

        record_reveal(platform, env, f"secret {key}", [f"secret:{key}"], "secrets get --reveal")
    if state.json_output:
        found: dict[str, Any] = {"key": key, "environment": env, "exists": True}
        if reveal:
            found["value"] = secret.reveal()
        state.echo_json(found)
        return
    state.echo_document(secret.reveal() if reveal else f"{key} = {secret}")


@secrets_group.command("list")
@json_option
@scope_option
@click.pass_context
def list_cmd(ctx: click.Context, env: str | None) -> None:
    """List secret keys with their scope and version (never values).

    With -e, the keys that environment sees (its own and the platform-wide ones).
    """
    state = get_state(ctx)
    entries = state.platform().secret_versions(env)
    if state.json_output:
        state.echo_json([entry.key for entry in entries])
    else:
        for entry in entries:
            version = f"version {entry.version}" if entry.version else "unversioned"
            click.echo(f"{entry.key}  {entry.scope}  {version}")


@secrets_group.command("delete")
@click.argument("key")
@scope_option
@json_option
@click.pass_context
def delete_cmd(ctx: click.Context, key: str, env: str | None) -> None:
    """Delete a secret (deleting a missing key succeeds).

    With -e, only that environment's own value: it falls back to the platform-wide one.
    """
    state = get_state(ctx)
    state.platform().delete_secret(key, env=env)
    if state.json_output:
        state.echo_json({"key": key, "environment": env, "deleted": True})
        return
    click.echo(f"deleted {key}" + (f" for {env}" if env else ""))
