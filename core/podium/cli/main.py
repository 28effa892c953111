"""Entry point of the ``podium`` command.

Subcommands live in ``podium.cli.commands.<module>`` and are imported only when
invoked (or when help lists them), so ``podium --version`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from podium.version import __version__

#: command name -> "module:attribute" under podium.cli.commands
COMMANDS: dict[str, str] = {
    "init": "project:init_cmd",
    "validate": "project:validate_cmd",
    "schema": "schema:schema_group",
    "plan": "engine:plan_cmd",
    "apply": "engine:apply_cmd",
    "up": "engine:up_cmd",
    "destroy": "engine:destroy_cmd",
    "ci": "ci:ci_group",
    "status": "runtime:status_cmd",
    "logs": "runtime:logs_cmd",
    "outputs": "runtime:outputs_cmd",
    "rollback": "runtime:rollback_cmd",
    "render": "render:render_cmd",
    "history": "runtime:history_cmd",
    "audit": "audit:audit_group",
    "catalog": "catalog:catalog_group",
    "state": "state:state_group",
    "secrets": "secrets:secrets_group",
    "plugins": "plugins:plugins_group",
    "plugin": "scaffold:plugin_group",
    "new": "templates:new_cmd",
    "template": "templates:template_group",
    "doctor": "plugins:doctor_cmd",
    "serve": "serve:serve_cmd",
    "tokens": "tokens:tokens_group",
}


#: root options that decide which plugins load, as CliState fields
GLOBAL_OPTIONS = ("config_path", "json_output", "debug", "strict_plugins", "no_plugins")


class LazyGroup(click.Group):
    """A group whose built-in subcommands import on demand, plus plugin-provided commands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # click runs eager options (--help, --version) before the others and
        # resolves the subcommand before the root callback: both may list or
        # look up plugin commands, which loads plugins. Read the options that
        # decide which plugins load first, so that --no-plugins, --config and
        # its allow/deny hold for --help and a mistyped command too.
        _read_global_options(self, ctx, args)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(COMMANDS) | set(super().list_commands(ctx))
        names |= set(_plugin_commands(ctx))
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is not None:
            module_name, attr = target.split(":")
            module = importlib.import_module(f"podium.cli.commands.{module_name}")
            command: click.Command = getattr(module, attr)
            return command
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        return _plugin_commands(ctx).get(cmd_name)


def _read_global_options(group: click.Group, ctx: click.Context, args: list[str]) -> None:
    """Parse the root's own options (no eager ones, no subcommand) into the CLI state."""
    from podium.cli.context import get_state

    probe = click.Command(
        ctx.info_name,
        # -e too, only so that its value is not taken for the subcommand's name
        params=[p for p in group.params if p.name in (*GLOBAL_OPTIONS, "env")],
        add_help_option=False,
    )
    try:
        parsed = probe.make_context(
            ctx.info_name,
            list(args),
            resilient_parsing=True,  # errors are for the real parse to report
            allow_extra_args=True,  # the subcommand and its arguments
            allow_interspersed_args=False,
            ignore_unknown_options=True,  # --help, --version
        )
    except click.ClickException:
        return
    values = {name: parsed.params.get(name) for name in GLOBAL_OPTIONS}
    get_state(ctx).configure(
        config_path=values["config_path"],
        json_output=bool(values["json_output"]),
        debug=bool(values["debug"]),
        strict_plugins=bool(values["strict_plugins"]),
        no_plugins=bool(values["no_plugins"]),
    )


def _plugin_commands(ctx: click.Context) -> dict[str, click.Command]:
    """Commands registered by plugins through ``podium_cli_commands``."""
    from podium.cli.context import plugin_cli_commands

    return plugin_cli_commands(ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="podium")
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar="PODIUM_CONFIG",
    help="Platform config file (default: ./podium.toml or the nearest parent's, stopping at a "
    "git repository's top; else built-in defaults).",
)
@click.option(
    "-e",
    "--env",
    "env",
    envvar="PODIUM_ENV",
    help="Environment for the commands that take one (the same as -e after the subcommand; "
    "that one wins).",
)
@click.option("--json", "json_output", is_flag=True, help="Machine-readable JSON output.")
@click.option(
    "--debug", is_flag=True, envvar="PODIUM_DEBUG", help="Show tracebacks and debug logs."
)
@click.option(
    "--strict-plugins",
    is_flag=True,
    envvar="PODIUM_STRICT_PLUGINS",
    help="Refuse read-only commands too while a plugin that is not optional cannot load "
    "(for CI); commands that change something refuse even without it.",
)
@click.option(
    "--no-plugins",
    is_flag=True,
    envvar="PODIUM_NO_PLUGINS",
    help="Load no installed plugins (built-ins only).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    env: str | None,
    json_output: bool,
    debug: bool,
    strict_plugins: bool,
    no_plugins: bool,
) -> None:
    """Podium: plan, apply and run workloads on a platform assembled from plugins."""
    from podium.cli.context import colour, get_state
    from podium.observability.logging import configure_cli_logging

    ctx.color = colour()  # NO_COLOR; else click colours only what goes to a terminal
    configure_cli_logging(debug=debug, json=json_output)
    get_state(ctx).configure(
        config_path=config_path,
        json_output=json_output,
        debug=debug,
        strict_plugins=strict_plugins,
        no_plugins=no_plugins,
    )
    get_state(ctx).env = env


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; errors become a one-line message and a documented exit code."""
    from podium.cli.errors import run_cli

    return run_cli(cli, argv if argv is not None else sys.argv[1:], prog_name="podium")


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PODIUM_CLI", "1")
    main()
