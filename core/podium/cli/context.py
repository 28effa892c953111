"""Per-invocation CLI state: global options and the lazily built :class:`~podium.api.Platform`."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from podium.plugins.kinds import CLI_COMMANDS

if TYPE_CHECKING:
    from podium.api import Platform


@dataclass
class CliState:
    config_path: str | None = None
    json_output: bool = False
    debug: bool = False
    strict_plugins: bool = False
    no_plugins: bool = False
    #: ``-e`` given before the subcommand (or ``PODIUM_ENV``); a subcommand's own ``-e`` wins
    env: str | None = None
    #: the environment the command resolved, for hints that repeat the flags needed
    environment: str | None = None
    #: where the JSON document goes under --json (the real stdout; see podium.cli.document)
    document: TextIO | None = field(default=None, repr=False)
    _platform: Platform | None = field(default=None, repr=False)

    def configure(
        self,
        *,
        config_path: str | None,
        json_output: bool,
        debug: bool,
        strict_plugins: bool,
        no_plugins: bool,
    ) -> None:
        """Take the global options; a platform built with other ones is dropped."""
        options = (config_path, strict_plugins, no_plugins)
        if options != (self.config_path, self.strict_plugins, self.no_plugins):
            self.close()
        self.config_path, self.strict_plugins, self.no_plugins = options
        self.json_output = self.json_output or json_output
        self.debug = debug

    def resolved_config_path(self) -> Path | None:
        if self.config_path:
            return Path(self.config_path)
        return find_config(Path.cwd())  # ./podium.toml, else the nearest parent's

    def platform(self) -> Platform:
        """Build the platform once per invocation, from ``--config`` or ./podium.toml."""
        if self._platform is None:
            from podium.api import Platform

            path = self.resolved_config_path()
            options: dict[str, Any] = {
                "strict_plugins": self.strict_plugins or None,
                "load_entrypoints": not self.no_plugins,
                # The command owns its process: its environment, and its collector to pause.
                "environ": os.environ,
                "pause_gc": True,
            }
            if path is not None:
                self._platform = Platform.from_file(path, **options)
            else:
                self._platform = Platform(None, root=Path.cwd(), **options)
        return self._platform

    def close(self) -> None:
        if self._platform is not None:
            self._platform.close()
            self._platform = None

    def echo_json(self, data: Any) -> None:
        self.echo_document(json.dumps(data, indent=2, sort_keys=False, default=str))

    def echo_document(self, text: str) -> None:
        """Write the command's machine-readable output (kept apart from plugin writes)."""
        click.echo(text, file=self.document)

    def echo_err(self, message: str) -> None:
        click.echo(message, err=True)

    @property
    def interactive(self) -> bool:
        return sys.stdout.isatty() and not self.json_output


def colour() -> bool | None:
    """``False`` when ``NO_COLOR`` is set to anything (https://no-color.org), else ``None``:
    click's default, colour only on a terminal. Pass it as ``color=`` where no click
    context is current (engine threads, after the command returned)."""
    return False if os.environ.get("NO_COLOR") else None


def find_config(start: Path) -> Path | None:
    """``podium.toml`` in ``start`` or the nearest parent that has one, like git.

    The search stops at the filesystem root, and after a directory holding ``.git``
    (a repository's top is a boundary): a project never picks up a stray file above it.
    """
    for directory in (start, *start.parents):
        candidate = directory / "podium.toml"
        if candidate.is_file():
            return Path("podium.toml") if directory == start else candidate.resolve()
        if (directory / ".git").exists():
            return None
    return None


def get_state(ctx: click.Context) -> CliState:
    root = ctx.find_root()
    state = root.obj
    if not isinstance(state, CliState):
        state = CliState()
        root.obj = state
    return state


pass_state = click.make_pass_decorator(CliState, ensure=True)


def plugin_cli_commands(ctx: click.Context) -> dict[str, click.Command]:
    """Commands contributed by plugins, loaded as the global options say.

    Called while click resolves a command name or lists commands for --help,
    before the root callback runs: the state's options were read from the
    command line by ``LazyGroup.parse_args`` already, so ``--no-plugins``,
    ``--config`` (and its ``[plugins] allow``/``deny``) hold here too.
    """
    state = get_state(ctx)
    if state.no_plugins:
        return {}
    from podium.observability.logging import configure_cli_logging

    # Before the root callback has set logging up: plugin failures go to stderr, as later.
    configure_cli_logging(debug=state.debug, json=state.json_output)
    try:
        platform = state.platform()
    except Exception:  # a broken config must not hide built-in commands
        return {}
    commands: dict[str, click.Command] = {}
    for name, registered in platform.plugins.registrations(CLI_COMMANDS).items():
        commands[name] = registered.obj.command
    return commands
