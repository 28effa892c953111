"""Per-environment secrets and rotation through the real CLI on podium-local.

The platform lead's findings: ``podium secrets set -e prod`` had no such option,
after ``secrets set`` the plan said "No changes", and ``podium rollback`` brought
back a revoked key. Here a workload prints the token it received; every value
change must reach it, and a rollback must keep the current value.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.plugin import EnvironmentInfo
from podium_local.network import wait_until

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: tok
containers:
  main:
    image: busybox:1.36
    command: ["sh", "-c"]
    args:
      - |
        echo "release=@RELEASE@ token=$TOKEN"
        exec sleep 600
    variables:
      TOKEN: ${resources.token.value}
resources:
  token:
    type: secret
    params:
      key: api-token
"""

CONFIG = """\
[platform]
name = "rot"
[plugins]
allow = ["local"]
[environments.dev]
deployer = "local"
[environments.prod]
deployer = "local"
[[rules]]
type = "secret"
provisioner = "local-secret"
"""

OLD, NEW, PROD = "tok-old-1f2e", "tok-new-8c7d", "tok-prod-44aa"


@pytest.fixture
def platform_dir() -> Iterator[Path]:
    """Traversable by podium-local's unprivileged workload user when run as root."""
    root = Path(tempfile.mkdtemp(prefix="podium-rot-", dir="/var/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def podium(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env["NO_COLOR"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def printed_token(state: Path, env: str, release: int) -> str:
    log = state / env / "local" / "workloads" / "tok" / "logs" / "main.log"
    marker = f"release={release} token="
    assert wait_until(lambda: log.exists() and marker in log.read_text(), 30), (
        log.read_text() if log.exists() else "no log"
    )
    lines = [line for line in log.read_text().splitlines() if line.startswith(marker)]
    return lines[-1][len(marker) :]


def test_rotation_plans_an_update_redeploys_and_rollback_keeps_the_new_value(
    platform_dir: Path,
) -> None:
    from conftest import stop_everything

    state = platform_dir / ".podium"
    (platform_dir / "podium.toml").write_text(CONFIG)
    score = platform_dir / "score.yaml"
    infos = [EnvironmentInfo("rot", env, state / env) for env in ("dev", "prod")]
    try:
        assert "version 1" in podium(platform_dir, "secrets", "set", "api-token", stdin=OLD).stdout
        score.write_text(SCORE.replace("@RELEASE@", "1"))
        podium(platform_dir, "up", "-e", "dev", "-f", "score.yaml")
        assert printed_token(state, "dev", 1) == OLD

        # Release 2: a new image of the app, same secret.
        score.write_text(SCORE.replace("@RELEASE@", "2"))
        podium(platform_dir, "up", "-e", "dev", "-f", "score.yaml")
        assert printed_token(state, "dev", 2) == OLD

        # Rotation: a new version, and the plan says so (never the value).
        stored = podium(platform_dir, "secrets", "set", "api-token", "--value", NEW)
        assert "version 2" in stored.stdout
        human = podium(platform_dir, "plan", "-e", "dev", "-f", "score.yaml").stdout
        assert "No changes" not in human and "secret api-token rotated" in human
        plan = json.loads(podium(platform_dir, "--json", "plan", "-e", "dev").stdout)
        reasons = {c["uid"]: (c["action"], c["reason"]) for c in plan["changes"]}
        assert reasons["deployment:tok"] == ("update", "secret api-token rotated")
        for text in (human, json.dumps(plan)):
            assert OLD not in text and NEW not in text
        podium(platform_dir, "apply", "-e", "dev", "-f", "score.yaml", "--yes")
        assert printed_token(state, "dev", 2) == NEW  # redeployed with the new value

        # Roll back to release 2's predecessor: the app of release 1, the CURRENT token.
        podium(platform_dir, "rollback", "-e", "dev", "tok", "--to", "1")
        assert printed_token(state, "dev", 1) == NEW

        # Per environment: prod's own value overrides the platform-wide one there only.
        podium(platform_dir, "secrets", "set", "-e", "prod", "api-token", stdin=PROD)
        podium(platform_dir, "up", "-e", "prod", "-f", "score.yaml")
        assert printed_token(state, "prod", 2) == PROD
        listed = podium(platform_dir, "secrets", "list", "-e", "prod").stdout
        assert "api-token  prod  version 1" in listed, listed
        assert "api-token  platform  version 2" in podium(platform_dir, "secrets", "list").stdout
        got = podium(platform_dir, "secrets", "get", "-e", "prod", "api-token", "--reveal")
        assert got.stdout.strip() == PROD
        assert podium(platform_dir, "secrets", "get", "api-token", "--reveal").stdout.strip() == NEW
        # dev is untouched by prod's value (its plan only redeploys the files' release 2).
        dev_plan = json.loads(podium(platform_dir, "--json", "plan", "-e", "dev").stdout)
        assert not [c for c in dev_plan["changes"] if "secret" in c["reason"]], dev_plan
        # Audit: the change is in prod's history, with key and version, never a value.
        history = podium(platform_dir, "--json", "history", "-e", "prod").stdout
        assert "secrets set" in history and "api-token" in history
        assert PROD not in history
        # Deleting prod's own value falls back to the platform-wide one: a rotation for prod.
        podium(platform_dir, "secrets", "delete", "-e", "prod", "api-token")
        prod_plan = json.loads(podium(platform_dir, "--json", "plan", "-e", "prod").stdout)
        prod_reasons = {c["uid"]: c["reason"] for c in prod_plan["changes"]}
        assert "secret api-token rotated" in prod_reasons["deployment:tok"]
        podium(platform_dir, "destroy", "-e", "prod", "--yes")
        podium(platform_dir, "destroy", "-e", "dev", "--yes")
    finally:
        for info in infos:
            stop_everything(info)
