"""The config checks itself: names that silently weaken guardrails are errors with file:line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from podium.api import Platform
from podium.config.loader import load_config_text
from podium.errors import ConfigError, ExitCode, InputError

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web:1.0
"""

DB_SCORE = (
    SCORE
    + """\
resources:
  db:
    type: postgres
    class: lage
"""
)


def podium(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "podium", "--no-plugins", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def project(root: Path, config: str, score: str = SCORE) -> Path:
    (root / "podium.toml").write_text(config)
    (root / "score.yaml").write_text(score)
    return root / "podium.toml"


def test_a_misspelt_policy_name_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        '[platform]\nname = "acme"\n\n[policies]\n"builtin.probe-required" = "mandatory"\n',
    )
    with (
        Platform.from_file(path, load_entrypoints=False) as platform,
        pytest.raises(ConfigError) as caught,
    ):
        platform.validate("dev", [tmp_path / "score.yaml"])
    error = caught.value
    assert error.exit_code == ExitCode.INVALID_INPUT
    assert error.location is not None and error.location.line == 5
    assert "builtin.probes-required" in str(error)  # the known names are listed

    result = podium(tmp_path, "validate", "-f", "score.yaml")
    assert result.returncode == 3, result.stderr
    assert "podium.toml:5" in result.stderr and "builtin.probe-required" in result.stderr
    assert podium(tmp_path, "plan", "-f", "score.yaml").returncode == 3


def test_pack_names_and_real_policy_names_are_accepted(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        '[policies]\nbuiltin = "advisory"\n"builtin.probes-required" = "mandatory"\n'
        '"other.anything" = "off"\n',  # a pack that is not loaded is not checked here
    )
    with Platform.from_file(path, load_entrypoints=False) as platform:
        assert platform.validate("dev", [tmp_path / "score.yaml"]) == []


def test_a_rule_for_an_unknown_environment_is_a_config_error_at_its_line() -> None:
    text = (
        '[environments.dev]\n[environments.prod]\n\n[[rules]]\ntype = "postgres"\n'
        'environment = "production"\nprovisioner = "x"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "podium.toml")
    error = caught.value
    assert error.location is not None and error.location.line == 6
    assert "'production'" in str(error) and "dev, prod" in str(error)
    assert error.field == "rules.0.environment"
    ok = text.replace('"production"', '["dev", "prod"]')
    assert load_config_text(ok, "podium.toml")[0].rules[0].environments() == ["dev", "prod"]


def test_a_class_no_rule_can_match_is_an_error_at_its_score_line(tmp_path: Path) -> None:
    config = (
        '[[rules]]\ntype = "postgres"\nclass = "large"\nprovisioner = "x"\n\n'
        '[[rules]]\ntype = "postgres"\nclass = "small"\nprovisioner = "x"\n'
    )
    path = project(tmp_path, config, DB_SCORE)
    with (
        Platform.from_file(path, load_entrypoints=False) as platform,
        pytest.raises(InputError) as caught,
    ):
        platform.validate("dev", [tmp_path / "score.yaml"])
    error = caught.value
    assert error.location is not None and error.location.line == 10
    assert error.field == "resources.db.class"
    assert "'lage'" in str(error) and "large, small" in str(error)

    result = podium(tmp_path, "validate", "-f", "score.yaml")
    assert result.returncode == 3, result.stderr
    assert "score.yaml:10" in result.stderr


def test_podium_finds_the_config_in_a_parent_directory(tmp_path: Path) -> None:
    project(tmp_path, '[platform]\nname = "acme"\n\n[policies]\n"builtin.nope" = "off"\n')
    sub = tmp_path / "services" / "web"
    sub.mkdir(parents=True)
    (sub / "score.yaml").write_text(SCORE)
    result = podium(sub, "validate", "-f", "score.yaml")  # Score path relative to the cwd
    assert result.returncode == 3, result.stderr  # the parent's config was used
    assert "podium.toml:5" in result.stderr
    assert not (sub / ".podium").exists()

    (tmp_path / "podium.toml").write_text('[platform]\nname = "acme"\n')
    result = podium(sub, "validate", "-f", "score.yaml")
    assert result.returncode == 0, result.stderr
    assert not (sub / ".podium").exists()


def test_the_config_search_stops_at_a_git_repository_top(tmp_path: Path) -> None:
    project(tmp_path, '[policies]\n"builtin.nope" = "off"\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "score.yaml").write_text(SCORE)
    result = podium(repo, "validate", "-f", "score.yaml")
    assert result.returncode == 0, result.stderr  # built-in defaults, not the file above
