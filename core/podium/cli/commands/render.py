"""``podium render``: write the manifests a rendering deployer would run."""

from __future__ import annotations

from pathlib import Path

import click

from podium.cli.context import get_state
from podium.cli.options import env_option, files_option, json_option, resolve_env, resolve_files


@click.command("render")
@env_option
@files_option
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory to write one manifest file per workload into (created if missing).",
)
@json_option
@click.pass_context
def render_cmd(ctx: click.Context, env: str | None, files: tuple[str, ...], out: str) -> None:
    """Render workloads to manifests (Kubernetes YAML...) without deploying them.

    Needs an environment whose deployer renders (podium-kubernetes) and resources
    already provisioned there (podium up -e ENV). Plugins' podium_patch_manifests
    hooks run, and the result is validated again. Files never hold secret values.
    """
    state = get_state(ctx)
    platform = state.platform()
    environment = resolve_env(state, env)
    rendered = platform.render(environment, resolve_files(state, files), out=Path(out))
    if state.json_output:
        state.echo_json(
            [
                {
                    "workload": m.workload,
                    "deployer": m.deployer,
                    "path": str(m.path),
                    "objects": [
                        f"{o.get('kind')}/{o.get('metadata', {}).get('name')}" for o in m.objects
                    ],
                }
                for m in rendered
            ]
        )
        return
    for manifests in rendered:
        click.echo(f"{manifests.path}: {len(manifests.objects)} objects")
