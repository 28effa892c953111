"""Options shared by the workload commands: -e/--env, -f/--file, --json."""

from __future__ import annotations

import glob
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from podium.cli.context import CliState, get_state
from podium.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        get_state(ctx).json_output = True
    return value


def json_option(func: F) -> F:
    return click.option(
        "--json",
        "json_flag",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Machine-readable JSON output.",
    )(func)


def env_option(func: F) -> F:
    return click.option(
        "-e",
        "--env",
        "env",
        help="Environment (default: -e before the subcommand, PODIUM_ENV, the only one, "
        "else 'dev').",
    )(func)


def files_option(func: F) -> F:
    return click.option(
        "-f",
        "--file",
        "files",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="Score file (repeatable; default: [platform] workloads, else ./score.yaml).",
    )(func)


def take_over_option(func: F) -> F:
    return click.option(
        "--take-over",
        "take_over",
        multiple=True,
        metavar="NAME",
        help="Take over the workload (or shared resource id) NAME from its recorded owner "
        "(repeatable; history records it).",
    )(func)


def yes_option(func: F) -> F:
    return click.option(
        "--yes",
        "-y",
        is_flag=True,
        help="Do not ask before deleting or replacing anything (only asked on a terminal).",
    )(func)


def resolve_env(state: CliState, env: str | None) -> str:
    """The subcommand's ``-e``, else the root's ``-e`` or ``PODIUM_ENV``, else a default."""
    state.environment = env or state.env or _default_env(state)
    return state.environment


def _default_env(state: CliState) -> str:
    environments = state.platform().environments
    if len(environments) == 1:
        return environments[0]
    if "dev" in environments:
        return "dev"
    raise click.UsageError(f"choose an environment with -e ({', '.join(environments)})")


def resolve_files(state: CliState, files: tuple[str, ...]) -> list[Path]:
    if files:
        return [Path(f) for f in files]
    platform = state.platform()
    patterns = platform.config.platform.workloads
    base = platform.config_path.parent if platform.config_path else platform.root
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(str(base / pattern), recursive=True))
        if not matches:
            raise InputError(f"no Score file matches {pattern!r}", field="platform.workloads")
        found.extend(Path(m) for m in matches)
    if found:
        return found
    default = Path("score.yaml")
    if default.is_file():
        return [default]
    raise click.UsageError("no workload given: use -f score.yaml or set [platform] workloads")
