"""``podium plugin new``: what it writes, and how it refuses bad input."""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from podium.cli.main import cli
from podium.errors import ExitCode, InputError

ALL = ["--domain", "provisioning", "--domain", "deployment", "--domain", "security",
       "--domain", "observability"]  # fmt: skip


def new(tmp_path: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["plugin", "new", *args, "--dir", str(tmp_path)])


def test_it_writes_an_installable_package_with_every_chosen_domain(tmp_path: Path) -> None:
    result = new(tmp_path, "acme-dns", *ALL)
    assert result.exit_code == 0, result.output
    root = tmp_path / "podium-acme-dns"
    assert f"created {root}" in result.output
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["name"] == "podium-acme-dns"
    assert project["dependencies"] == ["podium>=0.1,<0.2"]
    assert project["entry-points"]["podium.plugins"] == {"acme-dns": "podium_acme_dns.plugin"}
    package = root / "src" / "podium_acme_dns"
    for domain in ("provisioning", "deployment", "security", "observability"):
        assert (package / f"{domain}.py").is_file()
        assert (root / "tests" / f"test_{domain}.py").is_file()
    assert (root / "tests" / "test_end_to_end.py").is_file()
    assert (root / "tox.ini").is_file() and (package / "py.typed").is_file()
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "{{" not in text and "__package__" not in str(path), path
            if path.suffix == ".py":
                ast.parse(text, filename=str(path))
    plugin = (package / "plugin.py").read_text()
    assert 'PODIUM_API = ">=1.1,<2"' in plugin and "class Settings(BaseModel)" in plugin
    for hook in ("podium_provisioners", "podium_deployers", "podium_policy_packs",
                 "podium_telemetry_sinks"):  # fmt: skip
        assert f"def {hook}(" in plugin
    readme = (root / "README.md").read_text()
    assert "`acme-dns-dir`" in readme and "[plugins.acme-dns]" in readme


def test_default_domains_are_provisioning_and_deployment(tmp_path: Path) -> None:
    assert new(tmp_path, "acme").exit_code == 0
    package = tmp_path / "podium-acme" / "src" / "podium_acme"
    assert sorted(p.stem for p in package.glob("*.py")) == [
        "__init__", "deployment", "plugin", "provisioning"
    ]  # fmt: skip


def test_one_domain_only_has_no_end_to_end_test(tmp_path: Path) -> None:
    assert new(tmp_path, "guard", "--domain", "security").exit_code == 0
    root = tmp_path / "podium-guard"
    assert not (root / "tests" / "test_end_to_end.py").exists()
    plugin = (root / "src" / "podium_guard" / "plugin.py").read_text()
    assert "podium_policy_packs" in plugin and "podium_provisioners" not in plugin
    assert "{'policy_packs': ['guard']}" in (root / "tests" / "test_plugin.py").read_text()


def test_json_output_lists_the_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--json", "plugin", "new", "acme", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["path"] == str(tmp_path / "podium-acme")
    assert "src/podium_acme/plugin.py" in data["files"]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Acme", "is invalid"),
        ("acme_dns", "is invalid"),
        ("9lives", "is invalid"),
        ("podium-acme", "should not start with 'podium-'"),
    ],
)
def test_bad_names_are_input_errors(tmp_path: Path, name: str, says: str) -> None:
    result = new(tmp_path, name)
    assert isinstance(result.exception, InputError)
    assert says in str(result.exception)
    assert result.exception.exit_code == ExitCode.INVALID_INPUT
    assert not any(tmp_path.iterdir()), "nothing is written for a bad name"


def test_an_existing_package_is_not_overwritten(tmp_path: Path) -> None:
    assert new(tmp_path, "acme").exit_code == 0
    readme = tmp_path / "podium-acme" / "README.md"
    readme.write_text("my edits")
    result = new(tmp_path, "acme")
    assert isinstance(result.exception, InputError)
    assert "already exists" in str(result.exception)
    assert readme.read_text() == "my edits"
    assert new(tmp_path, "acme", "--force").exit_code == 0
    assert readme.read_text() != "my edits"


def test_an_unknown_domain_is_a_usage_error(tmp_path: Path) -> None:
    result = new(tmp_path, "acme", "--domain", "billing")
    assert result.exit_code == ExitCode.USAGE
    assert "billing" in result.output


def test_the_cli_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "podium", "plugin", "new", "Bad", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == ExitCode.INVALID_INPUT
    assert "Traceback" not in proc.stderr
    assert "plugin name 'Bad' is invalid" in proc.stderr
