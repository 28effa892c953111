"""Fixtures for podium-local's tests, which run the real servers.

A test that needs a server binary is skipped when the binary is missing,
except in CI (``CI`` set), where a missing binary fails the test: CI installs
postgresql, redis-server and nginx, so missing means broken.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import EnvironmentInfo, ResourceContext, Secret
from podium.testing import require
from podium_local.binaries import postgres_bin_dirs
from podium_local.rootfs import unreachable_part


def usable_by_others(path: str) -> bool:
    """Whether a user other than root can execute ``path`` (all its parents open to others)."""
    real = os.path.realpath(path)
    walked = unreachable_part(Path(os.path.abspath(path))) is None  # tox's .tox/ is private
    return (
        walked
        and unreachable_part(Path(real)) is None
        and bool(os.stat(real).st_mode & stat.S_IXOTH)
    )


def _workload_python() -> str:
    # As root, workloads run as an unprivileged user of their own, who must be able to
    # run the interpreter: the test's Python may live under /root (pyenv). The tests'
    # programs need only the standard library, so the system's Python does as well.
    if os.geteuid() != 0 or usable_by_others(sys.executable):
        return sys.executable
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and usable_by_others(candidate):
            return candidate
    return sys.executable


#: The Python interpreter test workloads run (standard library only).
WORKLOAD_PYTHON = _workload_python()


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres"):
        require("initdb", search=postgres_bin_dirs())
    if item.get_closest_marker("redis"):
        require("redis-server")
    if item.get_closest_marker("nginx"):
        require("nginx")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[EnvironmentInfo]:
    """An environment whose servers and processes are all stopped afterwards."""
    info = EnvironmentInfo(platform="t", environment="dev", state_dir=tmp_path / "state" / "dev")
    yield info
    stop_everything(info)


def stop_everything(info: EnvironmentInfo) -> None:
    """Stop every server podium-local may have started for ``info`` (test finaliser)."""
    from podium_local.servers.nginx_proxy import NginxProxy
    from podium_local.servers.postgres_cluster import PostgresCluster
    from podium_local.servers.redis_server import RedisServer
    from podium_local.servers.supervisord import Supervisor
    from podium_local.settings import Settings

    settings = Settings()
    supervisor = Supervisor(info, settings)
    if supervisor.home.exists():
        for conf in supervisor.programs.glob("*.conf"):
            conf.unlink()
        if supervisor.is_running():
            supervisor.sync_programs()
        supervisor.shutdown_if_idle()
    cluster = PostgresCluster(info, settings)
    if cluster.home.exists():
        with cluster.locked():
            cluster.stop_and_remove()
    redis = RedisServer(info, settings)
    if redis.home.exists():
        redis.stop_and_remove()
    proxy = NginxProxy(info, settings)
    if proxy.home.exists():
        proxy.stop_and_remove()
    if os.geteuid() == 0:  # container roots, volumes and home of the workloads' user
        from podium_local.isolation import runtime_dir

        shutil.rmtree(runtime_dir(info), ignore_errors=True)


@pytest.fixture
def make_ctx(env: EnvironmentInfo) -> Callable[..., ResourceContext]:
    """Build a ResourceContext whose generated secrets are stable, as the core journals them."""
    journal: dict[tuple[str, str], str] = {}

    def make(
        rtype: str,
        name: str = "res",
        *,
        workload: str | None = "app",
        id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> ResourceContext:
        uid = f"{rtype}.default#{id or f'{workload}.{name}'}"

        def generate(key: str, factory: Callable[[], str]) -> Secret:
            return Secret(journal.setdefault((uid, key), factory()))

        return ResourceContext(
            uid=uid,
            type=rtype,
            resource_class="default",
            id=id,
            workload=workload,
            params=params or {},
            physical_name=env.physical_name(uid),
            env=env,
            _generator=generate,
        )

    return make
