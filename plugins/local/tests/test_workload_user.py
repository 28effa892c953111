"""As root, workloads run as an unprivileged user of their environment's own.

The attack: a workload author's ``command`` reads the platform's state key,
``/etc/shadow``, podium-local's seal key and the operator's environment. Run
through the real CLI as root (as on the machines podium-local targets), every
read is denied and the operator's variables are absent, while the workload
still gets its own (secret) variables and files.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from podium.plugin import EnvironmentInfo, ResourceContext
from podium_local.isolation import runtime_dir, user_name
from podium_local.network import wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="podium must run as root")

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: snoop
containers:
  main:
    image: busybox
    command: ["sh", "-c"]
    args:
      - |
        echo "uid=$(id -u) user=$(id -un)"
        for f in "$KEY" /etc/shadow "$SEAL" "$PODIUM_ROOT/etc/token"; do
          if cat "$f" >/dev/null 2>&1; then echo "READ $f"; else echo "DENIED $f"; fi
        done
        if ls "$STATE" >/dev/null 2>&1; then echo "LISTED state"; else echo "DENIED state"; fi
        if touch "$PODIUM_ROOT/planted" 2>/dev/null; then echo "WROTE root"; else echo "DENIED root"; fi
        echo "operator=[$OPERATOR_CANARY] token=$TOKEN"
        echo done
        exec sleep 600
    variables:
      KEY: "@KEY@"
      SEAL: "@SEAL@"
      STATE: "@STATE@"
      TOKEN: ${resources.token.value}
    files:
      /etc/token:
        content: ${resources.token.value}
resources:
  token:
    type: secret
    params:
      key: api-token
"""

CONFIG = """\
[platform]
name = "iso"
[plugins]
allow = ["local"]
[environments.dev]
deployer = "local"
[[rules]]
type = "secret"
provisioner = "local-secret"
"""


@pytest.fixture
def platform_dir() -> Iterator[Path]:
    """A platform directory other users may traverse, as a checkout in /srv or /home would be."""
    root = Path(tempfile.mkdtemp(prefix="podium-iso-", dir="/var/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def podium(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(NO_COLOR="1", OPERATOR_CANARY="operator-secret-5d1e")
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_workload_cannot_read_platform_key_shadow_or_operator_environment(
    platform_dir: Path,
) -> None:
    from conftest import stop_everything

    state = platform_dir / ".podium"
    env_info = EnvironmentInfo("iso", "dev", state / "dev")
    (platform_dir / "podium.toml").write_text(CONFIG)
    (platform_dir / "score.yaml").write_text(
        SCORE.replace("@KEY@", str(state / "key"))
        .replace("@SEAL@", str(state / "dev" / "local" / "seal.key"))
        .replace("@STATE@", str(state / "dev"))
    )
    log = state / "dev" / "local" / "workloads" / "snoop" / "logs" / "main.log"
    try:
        done = podium(platform_dir, "secrets", "set", "api-token", stdin="tok-3a9c\n")
        assert done.returncode == 0, done.stdout + done.stderr
        up = podium(platform_dir, "up", "-f", "score.yaml")
        assert up.returncode == 0, up.stdout + up.stderr
        assert (state / "key").is_file()
        assert wait_until(lambda: log.exists() and "done" in log.read_text(), 30)
        lines = log.read_text().splitlines()
        user = pwd.getpwnam(user_name(env_info))
        assert f"uid={user.pw_uid} user={user.pw_name}" in lines and user.pw_uid != 0
        for path in (state / "key", "/etc/shadow", state / "dev" / "local" / "seal.key"):
            assert f"DENIED {path}" in lines, lines
        assert "DENIED state" in lines and "DENIED root" in lines, lines
        # Its own secret file and variable still reach it; the operator's variables do not.
        assert [line for line in lines if line.startswith("READ")] == [
            next(line for line in lines if line.endswith("/etc/token"))
        ]
        assert "operator=[] token=tok-3a9c" in lines, lines
        down = podium(platform_dir, "destroy", "--yes")
        assert down.returncode == 0, down.stdout + down.stderr
    finally:
        stop_everything(env_info)


def test_volume_of_an_older_version_moves_where_the_workload_user_can_reach_it(
    make_ctx: Callable[..., ResourceContext], env: EnvironmentInfo
) -> None:
    from podium_local.files import plugin_dir
    from podium_local.provisioners.basic import VolumeProvisioner

    ctx = make_ctx("volume", "data")
    legacy = plugin_dir(env) / "volumes" / ctx.physical_name
    legacy.mkdir(parents=True)
    (legacy / "kept").write_text("data")
    out = VolumeProvisioner().create(ctx)
    assert Path(out["source"]).parent == runtime_dir(env) / "volumes"
    assert (Path(out["source"]) / "kept").read_text() == "data" and not legacy.exists()
    VolumeProvisioner().delete(ctx)
    assert not runtime_dir(env).exists()
