"""``podium init`` and ``validate``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from podium.cli.context import get_state
from podium.cli.options import env_option, files_option, json_option, resolve_env, resolve_files
from podium.errors import PolicyBlockedError

if TYPE_CHECKING:
    from podium.workload.model import Workload

PODIUM_TOML = """\
# Podium platform config. Reference: sdk_docs/reference/config.md
# (or `podium schema platform` for the JSON Schema).

[platform]
name = "{name}"
# Where state, keys and logs live (relative to this file).
state_dir = ".podium"
# Score files used when `-f` is not given.
workloads = ["score.yaml"]

[plugins]
# Only these installed plugins load; pin versions with PEP 440 ("local>=0.1,<0.2").
allow = ["local"]

[environments.dev]
deployer = "local"          # run each container as a local process
# rollback_on_failure = true

# Rules map a workload's resource requests to provisioners; the most specific match wins.
[[rules]]
type = "postgres"
provisioner = "local-postgres"

[[rules]]
type = "redis"
provisioner = "local-redis"

[[rules]]
type = "volume"
provisioner = "local-volume"

# Policy levels (advisory, mandatory or off) replace, in every environment, the level
# a check picks by tier (an unpinned image is mandatory in prod, advisory in staging):
# list only a check you mean to change everywhere, prod included.
# [policies]
# "builtin.probes-required" = "mandatory"

[telemetry]
jsonl = true                # Podium's own spans in .podium/spans.jsonl
"""

SCORE_YAML = """\
# A Score workload (https://score.dev, v1b1). Validate with: podium validate
apiVersion: score.dev/v1b1
metadata:
  name: hello
containers:
  web:
    image: python:3.12-slim
    command: ["python3", "-m", "http.server", "--bind", "127.0.0.1"]
    args: ["8080"]
    variables:
      GREETING: "hello from ${metadata.name}"
service:
  ports:
    web:
      port: 8080
"""


@click.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--name", default="podium", help="Platform name.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@json_option
@click.pass_context
def init_cmd(ctx: click.Context, directory: str, name: str, force: bool) -> None:
    """Write a commented podium.toml and a sample score.yaml."""
    from podium.platform.context import validate_name

    try:
        validate_name(name, "platform")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from None
    state = get_state(ctx)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[str]] = {"wrote": [], "kept": []}
    for filename, text in (
        ("podium.toml", PODIUM_TOML.format(name=name)),
        ("score.yaml", SCORE_YAML),
    ):
        path = target / filename
        if path.exists() and not force:
            written["kept"].append(str(path))
            if not state.json_output:
                click.echo(f"kept existing {path} (use --force to overwrite)")
            continue
        path.write_text(text)
        written["wrote"].append(str(path))
        if not state.json_output:
            click.echo(f"wrote {path}")
    if state.json_output:
        state.echo_json(written)
    else:
        click.echo("next: podium validate && podium plan")


@click.command("validate")
@env_option
@files_option
@json_option
@click.pass_context
def validate_cmd(ctx: click.Context, env: str | None, files: tuple[str, ...]) -> None:
    """Check the platform config and workloads, rules included, without touching anything."""
    state = get_state(ctx)
    platform = state.platform()
    paths = resolve_files(state, files)
    findings = platform.validate(resolve_env(state, env), paths)
    warnings = _warnings(platform.load_workloads(paths))
    if state.json_output:
        state.echo_json(
            {
                "valid": True,
                "files": [str(p) for p in paths],
                "findings": [f.to_dict() for f in findings],
                "warnings": warnings,
            }
        )
    else:
        for warning in warnings:
            click.echo(f"warning: {warning['location']}: {warning['message']}")
        for finding in findings:
            where = f" ({finding.location})" if finding.location else ""
            click.echo(
                f"{finding.level}: {finding.policy}: {finding.subject or ''} "
                f"{finding.message}{where}"
            )
        click.echo(
            f"valid: {len(paths)} workload file(s), config {platform.config_path or '(defaults)'}"
        )
    if any(f.level == "mandatory" for f in findings):
        raise PolicyBlockedError("mandatory policy findings")


def _warnings(workloads: list[Workload]) -> list[dict[str, str]]:
    """Valid Score that is probably not meant, with file:line (see workload_warnings)."""
    from podium.workload.loader import workload_warnings

    return [
        {"location": str(location), "message": message}
        for workload in workloads
        for location, message in workload_warnings(workload)
    ]
