"""One rule for ``-e`` and ``--json``: every command where they make sense takes them,
before or after the subcommand (issue 13, "Consistent CLI")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import click

from podium.cli.context import CliState
from podium.cli.main import cli

#: commands without --json, and why (everything else must take it)
NO_JSON = {
    "podium schema": "prints a JSON Schema: JSON whatever the flags",
    "podium serve": "a long-running server; it prints only where it listens",
}
#: commands without -e, and why (everything else must take it)
NO_ENV = {
    "podium init": "writes files; no platform exists yet",
    "podium schema": "the schemas are the same in every environment",
    "podium plugins": "plugins are loaded for the platform, not per environment",
    "podium plugin": "scaffolds a plugin package; no platform involved",
    "podium new": "scaffolds a service from a template; templates are not per environment",
    "podium template": "updates a service's files from its template; no environment involved",
    "podium serve": "serves every environment of the platform",
    "podium tokens": "API tokens are platform-wide",
    "podium state rekey": "one state key serves every environment: rekey re-seals them all",
    "podium ci": "a pipeline covers every environment of the platform",
}


def _commands() -> list[tuple[str, click.Command]]:
    """Every built-in command (not groups), by its full path."""
    found: list[tuple[str, click.Command]] = []

    def walk(command: click.Command, ctx: click.Context, path: str) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} {name} is listed but cannot be loaded"
                walk(sub, click.Context(sub, info_name=name, parent=ctx), f"{path} {name}")
        else:
            found.append((path, command))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walk(cli, click.Context(cli, info_name="podium", obj=CliState(no_plugins=True)), "podium")
    return found


def _exempt(path: str, table: dict[str, str]) -> bool:
    return any(path == prefix or path.startswith(prefix + " ") for prefix in table)


def _opts(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def test_every_command_takes_json_and_env_where_they_make_sense() -> None:
    commands = _commands()
    assert len(commands) > 20, "the walk found suspiciously few commands"
    missing = []
    for path, command in commands:
        opts = _opts(command)
        if "--json" not in opts and not _exempt(path, NO_JSON):
            missing.append(f"{path} --json")
        if not {"-e", "--env"} <= opts and not _exempt(path, NO_ENV):
            missing.append(f"{path} -e/--env")
    assert not missing, f"commands breaking the -e/--json rule: {missing}"


def test_the_root_takes_both_before_the_subcommand() -> None:
    assert {"-e", "--env", "--json"} <= _opts(cli)


def _podium(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


TWO_ENVS = """\
[platform]
name = "opts"

[plugins]
allow = ["local"]

[environments.dev]
deployer = "local"

[environments.prod]
deployer = "local"
"""


def test_doctor_json_after_the_subcommand_and_env_before_it(tmp_path: Path) -> None:
    (tmp_path / "podium.toml").write_text(TWO_ENVS)
    for args in (("doctor", "--json"), ("--json", "doctor")):
        result = _podium(tmp_path, "--no-plugins", *args)
        assert result.returncode == 0, result.stderr
        checks = json.loads(result.stdout)["checks"]
        assert {c["check"] for c in checks} >= {"state dev (sqlite)", "state prod (sqlite)"}
    for args in (("-e", "prod", "doctor", "--json"), ("doctor", "-e", "prod", "--json")):
        only = json.loads(_podium(tmp_path, "--no-plugins", *args).stdout)["checks"]
        assert [c["check"] for c in only if c["check"].startswith("state")] == [
            "state prod (sqlite)"
        ]


def test_json_on_commands_that_had_none(tmp_path: Path) -> None:
    init = _podium(tmp_path, "init", "--json")
    assert init.returncode == 0, init.stderr
    assert sorted(Path(p).name for p in json.loads(init.stdout)["wrote"]) == [
        "podium.toml",
        "score.yaml",
    ]
    unlock = _podium(tmp_path, "--no-plugins", "state", "unlock", "--json")
    assert unlock.returncode == 0, unlock.stderr
    assert json.loads(unlock.stdout) == {"environment": "dev", "removed": None}


def test_version_answers_before_click_with_clicks_own_line(tmp_path: Path) -> None:
    """``podium --version`` skips loading the CLI; the line is what click's option prints."""
    from click.testing import CliRunner

    fast = _podium(tmp_path, "--version")
    assert fast.returncode == 0, fast.stderr
    through_click = CliRunner().invoke(cli, ["--version"], prog_name="podium")
    assert through_click.exit_code == 0
    assert fast.stdout == through_click.output
    assert fast.stdout.startswith("podium, version ")
    # with any other option, click answers (and the line is the same)
    slow = _podium(tmp_path, "--no-plugins", "--version")
    assert (slow.returncode, slow.stdout) == (0, fast.stdout)


def test_the_executable_entry_point_is_the_fast_one() -> None:
    from importlib.metadata import distribution

    scripts = {
        ep.name: ep.value
        for ep in distribution("podium").entry_points
        if ep.group == "console_scripts"
    }
    assert scripts["podium"] == "podium.cli.entry:main"
