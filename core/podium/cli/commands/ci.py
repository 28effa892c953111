"""``podium ci generate github|gitlab``: the platform's CI/CD pipeline, generated."""

from __future__ import annotations

from pathlib import Path

import click

from podium.cli.context import get_state
from podium.cli.options import json_option

_SYSTEMS = ("github", "gitlab")


@click.group("ci")
def ci_group() -> None:
    """CI/CD pipelines for the platform: plan on every request, apply on merge."""


@ci_group.command("generate")
@click.argument("system", type=click.Choice(_SYSTEMS))
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    help="Write the pipeline under this directory (the repository root) at its usual path "
    "(.github/workflows/podium.yml, .gitlab-ci.yml) instead of printing it.",
)
@click.option(
    "--workdir",
    help="The platform directory relative to the repository root "
    "(default: found from the enclosing git repository).",
)
@click.option(
    "--install",
    help="The shell command that installs Podium and the plugins on a runner "
    "(default: pip install of the versions running here).",
)
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    metavar="NAME",
    help="A CI secret every job gets as an environment variable, e.g. the state "
    "backend's credentials (repeatable).",
)
@click.option("--branch", default="main", show_default=True, help="The default branch.")
@click.option("--python", "python_version", default="3.11", show_default=True)
@json_option
@click.pass_context
def generate_cmd(
    ctx: click.Context,
    system: str,
    out: str | None,
    workdir: str | None,
    install: str | None,
    secrets: tuple[str, ...],
    branch: str,
    python_version: str,
) -> None:
    """Generate a pipeline: on each pull/merge request validate and plan every
    environment and publish the plans (Markdown and the saved plan file); on merge apply
    the saved plans, the first environment at once and the next ones after approval.

    Request jobs never get the state key: a plan needs none, and apply verifies it.
    """
    from podium.ci import github, gitlab
    from podium.ci.pipeline import pipeline_spec

    state = get_state(ctx)
    spec = pipeline_spec(
        state.platform(),
        workdir=workdir,
        install=install,
        secrets=secrets,
        default_branch=branch,
        python=python_version,
    )
    if system == "github":
        text, path = github.workflow(spec), github.WORKFLOW_PATH
    else:
        text, path = gitlab.pipeline_file(spec), gitlab.PIPELINE_PATH
    target = Path(out) / path if out is not None else None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if state.json_output:
        state.echo_json(
            {
                "system": system,
                "path": path,
                "written": None if target is None else str(target),
                "environments": [
                    {"name": s.name, "tier": s.tier, "gated": s.gated} for s in spec.stages
                ],
                "workdir": spec.workdir,
                "install": spec.install,
                "notes": list(spec.notes),
                "text": text,
            }
        )
        return
    for note in spec.notes:
        click.echo(f"note: {note}", err=True)
    if target is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"Wrote {target}")
