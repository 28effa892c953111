"""Params podium-local accepts are honoured, or refused at plan: never "updated" for nothing.

Issue 13: a rule's ``version = "16"`` for local-postgres planned "update", applied
"updated", and the server stayed 15.18.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import ResourceError, resource_schema
from podium_local.postgres_version import installed_version
from podium_local.provisioners.postgres import PostgresProvisioner
from podium_local.settings import Settings

CONFIG = """\
[platform]
name = "localparams"

[plugins]
allow = ["local"]

[environments.dev]
deployer = "local"

[[rules]]
type = "postgres"
provisioner = "local-postgres"
params = {{ {params} }}
"""

WORKLOAD = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  web:
    image: python:3.12-slim
    variables:
      DB_URL: ${resources.db.uri}
resources:
  db:
    type: postgres
"""


def podium(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``podium`` CLI in ``root``, without the operator's PODIUM_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def installed() -> str:
    try:
        return installed_version(None)[0]
    except ResourceError:
        pytest.skip("PostgreSQL is not installed")


def other_major() -> str:
    return str(int(installed().split(".")[0]) + 1)


def test_a_version_the_installed_server_is_not_is_refused_at_validate_and_plan(
    tmp_path: Path,
) -> None:
    version = installed()
    wanted = other_major()
    (tmp_path / "podium.toml").write_text(CONFIG.format(params=f'version = "{wanted}"'))
    (tmp_path / "score.yaml").write_text(WORKLOAD)
    for command in ("validate", "plan"):
        result = podium(tmp_path, command, "-f", "score.yaml")
        assert result.returncode == 3, result.stdout + result.stderr
        # Pointed at the rule that sets it, naming the server podium-local really runs.
        assert "podium.toml:13:" in result.stderr, result.stderr
        assert f"PostgreSQL {wanted} is not installed" in result.stderr, result.stderr
        assert f"PostgreSQL {version}" in result.stderr, result.stderr
        assert "update" not in result.stdout
    assert not (tmp_path / ".podium" / "dev" / "local").exists()  # nothing was started


@pytest.mark.parametrize("spelled", ["major", "full", "number"])
def test_the_installed_version_is_accepted(spelled: str) -> None:
    version = installed()
    value: Any = {
        "major": version.split(".")[0],
        "full": version,
        "number": int(version.split(".")[0]),
    }[spelled]
    assert resource_schema(PostgresProvisioner()).check_params({"version": value}) == []


def test_a_wrong_minor_version_is_refused_too() -> None:
    major = installed().split(".")[0]
    [problem] = resource_schema(PostgresProvisioner()).check_params({"version": f"{major}.999"})
    assert problem.path == ("version",) and "is not installed" in problem.message


def test_an_unreadable_server_fails_closed(tmp_path: Path) -> None:
    """A version podium-local cannot check is not taken on trust."""
    provisioner = PostgresProvisioner(Settings(postgres_bin_dir=str(tmp_path)))
    [problem] = resource_schema(provisioner).check_params({"version": "15"})
    assert "cannot be checked" in problem.message and str(tmp_path) in problem.message
    assert resource_schema(provisioner).check_params({}) == []  # no version: nothing to check


def test_create_refuses_a_version_known_only_at_apply(
    make_ctx: Callable[..., Any],
) -> None:
    """A version from a placeholder escapes validate; create refuses it before any change."""
    provisioner = PostgresProvisioner()
    ctx = make_ctx("postgres", "db", params={"version": other_major()})
    with pytest.raises(ResourceError, match="is not installed"):
        provisioner.create(ctx)
    assert provisioner.read(ctx) is None
