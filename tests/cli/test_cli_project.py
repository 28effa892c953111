"""``podium init``, ``validate``, ``schema`` and ``secrets`` through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema


def podium(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_init_writes_a_config_that_validates_against_the_exported_schema(tmp_path: Path) -> None:
    result = podium(tmp_path, "init", "--name", "acme")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "podium.toml").is_file() and (tmp_path / "score.yaml").is_file()
    again = podium(tmp_path, "init")
    assert "kept existing" in again.stdout  # never overwrites without --force

    import tomllib

    schema = json.loads(podium(tmp_path, "schema", "platform").stdout)
    jsonschema.validate(tomllib.loads((tmp_path / "podium.toml").read_text()), schema)

    import yaml

    workload_schema = json.loads(podium(tmp_path, "schema", "workload").stdout)
    jsonschema.validate(yaml.safe_load((tmp_path / "score.yaml").read_text()), workload_schema)


def test_init_never_weakens_the_prod_tier(tmp_path: Path) -> None:
    """A policy level in podium.toml applies in every environment, prod included: the
    config init writes sets none, so each check keeps the level its tier gives it."""
    from podium.config.loader import load_config_file

    assert podium(tmp_path, "init").returncode == 0
    config, _ = load_config_file(tmp_path / "podium.toml")
    assert not config.policies
    assert "[policies]" not in (tmp_path / "podium.toml").read_text().replace("# [policies]", "")


def test_init_rejects_a_bad_platform_name(tmp_path: Path) -> None:
    result = podium(tmp_path, "init", "--name", "Not OK")
    assert result.returncode == 2 and "invalid" in result.stderr


def test_schema_to_file(tmp_path: Path) -> None:
    assert podium(tmp_path, "schema", "platform", "--out", "p.json").returncode == 0
    schema = json.loads((tmp_path / "p.json").read_text())
    assert "environments" in schema["properties"]


def test_validate_reports_a_workload_error_with_its_line(tmp_path: Path) -> None:
    podium(tmp_path, "init")
    (tmp_path / "score.yaml").write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: hello\ncontainers:\n  web:\n"
        "    image: x:1\n    variables:\n      A: ${resources.nope.host}\n"
    )
    result = podium(tmp_path, "--no-plugins", "validate")
    assert result.returncode == 3, result.stderr
    assert "score.yaml:8" in result.stderr and "nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_secrets_round_trip_without_echoing_values(tmp_path: Path) -> None:
    value = "hunter2-correct-horse"
    assert podium(tmp_path, "secrets", "set", "db/password", stdin=value + "\n").returncode == 0
    listed = podium(tmp_path, "--json", "secrets", "list")
    assert json.loads(listed.stdout) == ["db/password"]
    shown = podium(tmp_path, "secrets", "get", "db/password")
    assert value not in shown.stdout and "(sensitive)" in shown.stdout
    assert podium(tmp_path, "secrets", "get", "db/password", "--reveal").stdout.strip() == value
    missing = podium(tmp_path, "secrets", "get", "other")
    assert missing.returncode == 9 and "podium secrets set" in missing.stderr
    bad = podium(tmp_path, "secrets", "set", "../escape", "--value", "x")
    assert bad.returncode == 3 and "invalid secret key" in bad.stderr
    assert podium(tmp_path, "secrets", "delete", "db/password").returncode == 0
    assert json.loads(podium(tmp_path, "--json", "secrets", "list").stdout) == []
    for path in (tmp_path / ".podium").rglob("*"):
        if path.is_file():
            assert value.encode() not in path.read_bytes()


def test_secrets_answer_in_json_without_values(tmp_path: Path) -> None:
    value = "json-canary-7731"
    stored = podium(tmp_path, "secrets", "set", "api/token", "--json", stdin=value + "\n")
    assert json.loads(stored.stdout) == {"key": "api/token", "environment": None, "version": 1}
    again = podium(tmp_path, "secrets", "set", "api/token", "--json", "--value", value + "2")
    assert json.loads(again.stdout)["version"] == 2
    shown = podium(tmp_path, "secrets", "get", "api/token", "--json")
    assert json.loads(shown.stdout) == {"key": "api/token", "environment": None, "exists": True}
    assert value not in shown.stdout
    revealed = podium(tmp_path, "secrets", "get", "api/token", "--json", "--reveal")
    assert json.loads(revealed.stdout)["value"] == value + "2"
    deleted = podium(tmp_path, "secrets", "delete", "api/token", "--json")
    assert json.loads(deleted.stdout) == {"key": "api/token", "environment": None, "deleted": True}


def test_help_lists_every_command(tmp_path: Path) -> None:
    from podium.cli.main import COMMANDS

    result = podium(tmp_path, "--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout
