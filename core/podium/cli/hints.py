"""Hints that name a ``podium`` command repeat the flags this invocation needed.

The library writes hints without knowing how it was invoked (``run 'podium state
unlock'``); a user who ran ``podium -c ci.toml apply -e prod`` and pasted that hint
would unlock ``dev`` of the default config. The CLI knows both, so it completes every
quoted ``podium ...`` command of a hint with ``-c CONFIG`` and ``-e ENV`` where the named
command takes them and the hint does not say otherwise.
"""

from __future__ import annotations

import json
import re

import click

from podium.cli.context import CliState

#: commands that never read the platform config
_WITHOUT_CONFIG = frozenset({"init", "schema", "plugin"})

#: a podium command quoted in a hint: 'podium state unlock' or `podium plugins lock`
_QUOTED = re.compile(r"(['`])podium ([^'`]+)\1")


def complete_hint(hint: str, state: CliState, cli: click.Group) -> str:
    """``hint`` with the config and environment flags added to each podium command it quotes."""

    def complete(match: re.Match[str]) -> str:
        quote, words = match.group(1), match.group(2).split()
        path_length, command = _command_path(cli, words)
        if command is None:
            return match.group(0)
        path, rest = words[:path_length], words[path_length:]
        flags_before: list[str] = []
        if state.config_path and path[0] not in _WITHOUT_CONFIG:
            flags_before = ["-c", _quote(state.config_path)]
        flags_after: list[str] = []
        takes_env = any(param.name == "env" for param in command.params)
        if takes_env and state.environment and not {"-e", "--env"} & set(words):
            flags_after = ["-e", _quote(state.environment)]
        text = " ".join(["podium", *flags_before, *path, *flags_after, *rest])
        return f"{quote}{text}{quote}"

    return _QUOTED.sub(complete, hint)


def _command_path(cli: click.Group, words: list[str]) -> tuple[int, click.Command | None]:
    """How many of ``words`` name a built-in command, and that command (None if none)."""
    ctx = click.Context(cli, obj=CliState(no_plugins=True))
    command: click.Command = cli
    used = 0
    for word in words:
        if not isinstance(command, click.Group):
            break
        found = command.get_command(ctx, word)
        if found is None:
            break
        command, used = found, used + 1
    return used, (command if used else None)


def _quote(value: str) -> str:
    """A shell word; double quotes, since hints quote commands in single quotes."""
    return value if re.fullmatch(r"[\w./@:+=-]+", value) else json.dumps(value)
