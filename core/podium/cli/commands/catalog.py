"""``podium catalog export``: Backstage catalog entities for what the platform runs."""

from __future__ import annotations

from pathlib import Path

import click

from podium.cli.context import get_state
from podium.cli.options import json_option

CATALOG_FILE = "catalog-info.yaml"


@click.group("catalog")
def catalog_group() -> None:
    """Describe the platform to developer portals."""


@catalog_group.command("export")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Write {CATALOG_FILE} into this directory (default: print it).",
)
@click.option(
    "--owner",
    default="group:platform-team",
    show_default=True,
    help="Owner of the platform's System (and of workloads without a team): a Backstage "
    "entity reference.",
)
@click.option(
    "-e",
    "--env",
    "envs",
    multiple=True,
    help="Only these environments (repeatable; default: every environment).",
)
@json_option
@click.pass_context
def export_cmd(ctx: click.Context, out: Path | None, owner: str, envs: tuple[str, ...]) -> None:
    """Backstage entities from state: a System for the platform, a Component per deployed
    workload, a Resource per resource, with owners and dependsOn relations."""
    from podium.catalog import backstage_entities, render_yaml

    state = get_state(ctx)
    platform = state.platform()
    chosen = list(envs) or list(platform.environments)
    for env in chosen:
        platform.environment(env)  # an unknown name is an error, not an empty catalog
    records = {env: platform.store(env).records() for env in chosen}
    entities = backstage_entities(platform.name, records, owner=owner)
    if state.json_output and out is None:
        state.echo_json(entities)
        return
    text = render_yaml(entities)
    if out is None:
        state.echo_document(text.rstrip("\n"))
        return
    from podium.supervision.state_files import write_atomic

    # A catalog file is meant to be read (committed, served to Backstage): 0644.
    write_atomic(out / CATALOG_FILE, text, mode=0o644)
    if state.json_output:
        state.echo_json({"path": str(out / CATALOG_FILE), "entities": len(entities)})
    else:
        click.echo(f"wrote {len(entities)} entities to {out / CATALOG_FILE}")
