"""Server directories outside the state directory cannot be planted by other local users.

podium-local runs as root here (as on the machines it targets). A local user
who can create names in /tmp or /var/tmp plants a symlink or a directory of
their own where a server directory will be; podium-local must neither follow
the link (a root chown/chmod of any path) nor adopt the directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import WORKLOAD_PYTHON

from podium.plugin import (
    DeployContext,
    EnvironmentInfo,
    RenderedContainer,
    RenderedWorkload,
    ResourceContext,
    ResourceError,
)
from podium_local.deploy.deployer import LocalDeployer
from podium_local.files import socket_dir
from podium_local.provisioners.postgres import PostgresProvisioner
from podium_local.servers.postgres_cluster import PostgresCluster
from podium_local.servers.process import as_user, run
from podium_local.settings import Settings

MakeCtx = Callable[..., ResourceContext]
NOBODY = 65534

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the attack targets podium run as root")


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[Path]:
    """A directory the attacker wants root to chown/chmod."""
    target = tmp_path / "victim"
    target.mkdir(mode=0o755)
    yield target


def fingerprint(path: Path) -> tuple[int, int, int, list[str]]:
    info = os.stat(path)
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode), sorted(os.listdir(path))


@root_only
@pytest.mark.postgres
def test_planted_postgres_directory_is_not_followed(
    make_ctx: MakeCtx, env: EnvironmentInfo, victim: Path
) -> None:
    # Where the previous version put the cluster when postgres cannot reach the state dir.
    home = env.state_dir / "local" / "postgres"
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    planted = Path("/var/tmp") / f"podium-local-pg-{digest}"
    planted.symlink_to(victim)
    before = fingerprint(victim)
    try:
        PostgresProvisioner().create(make_ctx("postgres", "db"))
        base = Path(json.loads((home / "cluster.json").read_text())["base"])
        assert base != planted and not base.is_symlink()
        assert base.parent == Path("/var/tmp") and base.name.startswith("podium-local-pg-")
        assert fingerprint(victim) == before
    finally:
        planted.unlink()


@root_only
@pytest.mark.postgres
def test_recorded_cluster_directory_swapped_for_a_symlink_is_refused(
    make_ctx: MakeCtx, env: EnvironmentInfo, victim: Path
) -> None:
    provisioner = PostgresProvisioner()
    ctx = make_ctx("postgres", "db")
    provisioner.create(ctx)
    cluster = PostgresCluster(env, Settings())
    meta = json.loads(cluster._meta_path.read_text())
    base = Path(meta["base"])
    pg_ctl = shutil.which("pg_ctl") or next(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    run(as_user("postgres", [str(pg_ctl), "stop", "-D", str(base / "data"), "-w"]), "stop")
    moved = base.with_name(base.name + "-moved")
    base.rename(moved)
    base.symlink_to(moved)  # the server is down; the recorded path now points elsewhere
    try:
        with pytest.raises(ResourceError, match="is a symbolic link"):
            provisioner.read(ctx)
    finally:
        base.unlink()
        moved.rename(base)
    assert provisioner.read(ctx) is not None  # the real directory is used again
    provisioner.delete(ctx)


def long_state_env(tmp_path: Path) -> EnvironmentInfo:
    """An environment whose state path is too long for a unix socket: sockets go to /tmp."""
    deep = tmp_path / ("d" * 60) / ("e" * 40)
    return EnvironmentInfo(platform="t", environment="dev", state_dir=deep / "state" / "dev")


def sleeper() -> RenderedWorkload:
    command = [WORKLOAD_PYTHON, "-c", "import time\nwhile True: time.sleep(1)"]
    return RenderedWorkload(
        name="w", containers={"main": RenderedContainer(name="main", image="x", command=command)}
    )


@root_only
@pytest.mark.parametrize("plant", ["symlink", "foreign-dir"])
def test_planted_supervisor_socket_directory_is_refused(
    tmp_path: Path, victim: Path, plant: str
) -> None:
    from conftest import stop_everything

    env = long_state_env(tmp_path)
    sockets = socket_dir(env.state_dir / "local" / "supervisor", "sv")
    assert str(sockets).startswith("/tmp/podium-sv-")
    if plant == "symlink":
        sockets.symlink_to(victim)
    else:
        sockets.mkdir(mode=0o777)
        os.chown(sockets, NOBODY, NOBODY)
    before = fingerprint(victim)
    try:
        with pytest.raises(ResourceError, match="refusing to use /tmp/podium-sv-"):
            LocalDeployer(Settings(readiness_timeout=10)).deploy(
                DeployContext(workload="w", env=env, release=1), sleeper()
            )
        assert fingerprint(victim) == before
    finally:
        if sockets.is_symlink():
            sockets.unlink()
        else:
            shutil.rmtree(sockets)
        stop_everything(env)
