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
from podium.testing import unavailable
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
        # CI installs it (scripts/setup-system.sh): never skip there
        unavailable("PostgreSQL is not installed")


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


E2E_SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: busybox:1.36
    command: ["sh", "-c", "exec sleep 600"]
    variables:
      DB: ${resources.db.name}
resources:
  db:
    type: postgres
"""


def test_an_existing_database_is_never_updated_for_nothing() -> None:
    """The platform lead's session: a version change planned "update", applied "updated",
    and the server stayed 15.18. Now the server is compared, and a param podium-local
    never reads (AWS's ``engine_version``) plans no change, with a warning."""
    import json
    import shutil
    import tempfile

    from conftest import stop_everything

    from podium.plugin import EnvironmentInfo

    version = installed()
    root = Path(tempfile.mkdtemp(prefix="podium-params-", dir="/var/tmp"))
    root.chmod(0o755)  # traversable by podium-local's workload user when run as root
    info = EnvironmentInfo("localparams", "dev", root / ".podium" / "dev")
    config = root / "podium.toml"
    try:
        config.write_text(CONFIG.format(params=""))
        (root / "score.yaml").write_text(E2E_SCORE)
        up = podium(root, "up", "-e", "dev", "-f", "score.yaml")
        assert up.returncode == 0, up.stdout + up.stderr

        config.write_text(CONFIG.format(params='engine_version = "16"'))
        plan = podium(root, "--json", "plan", "-e", "dev", "-f", "score.yaml")
        assert plan.returncode == 0, plan.stderr
        document = json.loads(plan.stdout)
        actions = {c["uid"]: c["action"] for c in document["changes"]}
        assert actions.get("postgres.default#app.db", "no-op") == "no-op", actions
        assert any("engine_version" in w for w in document["warnings"]), document["warnings"]

        config.write_text(CONFIG.format(params=f'version = "{other_major()}"'))
        refused = podium(root, "plan", "-e", "dev", "-f", "score.yaml")
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert f"PostgreSQL {version}" in refused.stderr

        down = podium(root, "destroy", "-e", "dev", "--yes")
        assert down.returncode == 0, down.stdout + down.stderr
    finally:
        stop_everything(info)
        shutil.rmtree(root, ignore_errors=True)
