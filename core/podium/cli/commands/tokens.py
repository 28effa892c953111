"""``podium tokens``: API credentials for ``podium serve`` (created, listed, revoked)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from podium.cli.context import get_state
from podium.cli.options import json_option

if TYPE_CHECKING:
    from podium.serve.store import ServerStore


def _store(ctx: click.Context) -> ServerStore:
    from podium.serve.store import open_server_store

    return open_server_store(get_state(ctx).platform())


@click.group("tokens")
def tokens_group() -> None:
    """Create, list and revoke API tokens for podium serve."""


@tokens_group.command("create")
@click.option("--team", required=True, help="The team the token acts for (its owner identity).")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["viewer", "developer", "admin"]),
    help="What the token may do ([access] in podium.toml refines it per environment).",
)
@click.option(
    "--permission",
    "permissions",
    multiple=True,
    type=click.Choice(["reveal-secrets"]),
    help="An extra permission (repeatable): reveal-secrets reads secret output values.",
)
@click.option(
    "--ttl-days", type=click.FloatRange(min=0, min_open=True), help="Expire after this many days."
)
@json_option
@click.pass_context
def create_cmd(
    ctx: click.Context,
    team: str,
    role: str,
    permissions: tuple[str, ...],
    ttl_days: float | None,
) -> None:
    """Create a token; it is printed once and stored only as a digest."""
    from podium.serve.identity import create_token

    state = get_state(ctx)
    store = _store(ctx)
    try:
        text, row = create_token(
            store,
            team=team,
            role=role,
            created_by=state.platform().actor,
            permissions=permissions,
            ttl_days=ttl_days,
        )
    finally:
        store.close()
    if state.json_output:
        state.echo_json({"token": text, **row.public()})
        return
    click.echo(text)
    state.echo_err(f"token {row.id} for team {team} ({role}): shown once, store it now")


@tokens_group.command("list")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """List tokens (never their values)."""

    state = get_state(ctx)
    store = _store(ctx)
    try:
        rows = store.tokens()
    finally:
        store.close()
    if state.json_output:
        state.echo_json([r.public() for r in rows])
        return
    if not rows:
        click.echo("no tokens")
    for r in rows:
        status = f"revoked {r.revoked_at}" if r.revoked_at else f"expires {r.expires_at or 'never'}"
        extra = f" +{','.join(r.permissions)}" if r.permissions else ""
        click.echo(f"{r.id}  {r.team}  {r.role}{extra}  created {r.created_at}  {status}")


@tokens_group.command("revoke")
@click.argument("token_id")
@json_option
@click.pass_context
def revoke_cmd(ctx: click.Context, token_id: str) -> None:
    """Revoke a token by its id (from 'tokens list'); it is refused at once."""
    from podium.errors import NotFoundError

    state = get_state(ctx)
    store = _store(ctx)
    try:
        done = store.revoke_token(token_id)
    finally:
        store.close()
    if not done:
        raise NotFoundError(f"no live token {token_id!r}", hint="podium tokens list")
    if state.json_output:
        state.echo_json({"revoked": token_id})
    else:
        click.echo(f"revoked {token_id}")
