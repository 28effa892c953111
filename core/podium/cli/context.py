"""Per-invocation CLI state: global options and the lazily built :class:`~podium.api.Platform`."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from podium.api import Platform


@dataclass
class CliState:
    config_path: str | None = None
    json_output: bool = False
    debug: bool = False
    strict_plugins: bool = False
    no_plugins: bool = False
    _platform: Platform | None = field(default=None, repr=False)

    def resolved_config_path(self) -> Path | None:
        if self.config_path:
            return Path(self.config_path)
        default = Path("podium.toml")
        return default if default.is_file() else None

    def platform(self) -> Platform:
        """Build the platform once per invocation, from ``--config`` or ./podium.toml."""
        if self._platform is None:
            from podium.api import Platform

            path = self.resolved_config_path()
            options: dict[str, Any] = {
                "strict_plugins": self.strict_plugins or None,
                "load_entrypoints": not self.no_plugins,
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
        click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))

    def echo_err(self, message: str) -> None:
        click.echo(message, err=True)

    @property
    def interactive(self) -> bool:
        return sys.stdout.isatty() and not self.json_output


def get_state(ctx: click.Context) -> CliState:
    root = ctx.find_root()
    state = root.obj
    if not isinstance(state, CliState):
        state = CliState()
        root.obj = state
    return state


pass_state = click.make_pass_decorator(CliState, ensure=True)


def plugin_cli_commands(ctx: click.Context) -> dict[str, click.Command]:
    """Commands contributed by plugins; loading plugins is skipped for --help of built-ins."""
    state = get_state(ctx)
    if state.no_plugins:
        return {}
    try:
        platform = state.platform()
    except Exception:  # a broken config must not hide built-in commands
        return {}
    commands: dict[str, click.Command] = {}
    for name, registered in platform.plugins.registrations("cli_commands").items():
        commands[name] = registered.obj.command
    return commands
