"""Recorded health: the prober supervised next to a workload records what status would say."""

from __future__ import annotations

import json
import os

from test_deployer import web

from podium.plugin import DeployContext, EnvironmentInfo, process_start_time
from podium_local.deploy.deployer import LocalDeployer
from podium_local.deploy.health import (
    health_path,
    prober_program,
    read_recorded,
    stale_after,
)
from podium_local.deploy.layout import WorkloadDir
from podium_local.network import wait_until
from podium_local.servers.supervisord import Supervisor
from podium_local.settings import Settings

SETTINGS = Settings(readiness_timeout=20, restart_backoff=0.2, stop_timeout=5, health_period=0.5)


def ctx_for(env: EnvironmentInfo, release: int = 1) -> DeployContext:
    return DeployContext(workload="web", env=env, release=release)


def checked_at(wdir: WorkloadDir) -> float:
    return float(json.loads(health_path(wdir).read_text())["checked_at"])


def test_prober_records_health_and_status_reads_it(env: EnvironmentInfo) -> None:
    deployer = LocalDeployer(SETTINGS)
    ctx = ctx_for(env)
    assert deployer.recorded_status(ctx) is None  # not deployed: nothing recorded
    deployer.deploy(ctx, web())
    wdir = WorkloadDir(env, "web")

    # The deploy recorded what its readiness wait saw: status right after it needs no probe.
    recorded = deployer.recorded_status(ctx)
    assert recorded is not None and recorded.state == "ready"
    assert recorded.checked_at is not None and recorded.containers["main"].state == "ready"
    assert health_path(wdir).stat().st_mode & 0o777 == 0o600

    # The prober runs under supervisord (not in this process) and keeps recording.
    supervisor = Supervisor(env, SETTINGS)
    assert (supervisor.info(prober_program("web")) or {}).get("statename") == "RUNNING"
    first = checked_at(wdir)
    assert wait_until(lambda: checked_at(wdir) > first, 10)

    # The workload goes unready: the prober notices without anyone calling status.
    supervisor.stop("web__main")
    # At once: the process is not what it was when the record was made, so no record is
    # trusted (status probes live) until the prober records "down".
    assert deployer.recorded_status(ctx) is None
    assert wait_until(lambda: getattr(deployer.recorded_status(ctx), "state", "") == "down", 10)
    assert deployer.status(ctx).state == "down"

    # A prober that stopped (supervisord stopped or killed): the record is not used.
    supervisor.stop(prober_program("web"))
    assert deployer.recorded_status(ctx) is None

    # Destroy removes the prober with the workload.
    deployer.destroy(ctx)
    assert not health_path(wdir).exists()


def test_a_record_from_before_the_last_deploy_or_damaged_is_not_trusted(
    env: EnvironmentInfo,
) -> None:
    deployer = LocalDeployer(SETTINGS)
    ctx = ctx_for(env)
    deployer.deploy(ctx, web())
    wdir = WorkloadDir(env, "web")
    assert deployer.recorded_status(ctx) is not None
    Supervisor(env, SETTINGS).stop(prober_program("web"))  # nothing rewrites the file now
    # This process stands in for the prober: a record it keeps is trusted while fresh.
    health = json.loads(health_path(wdir).read_text())
    health["prober"] = [os.getpid(), process_start_time(os.getpid())]
    health_path(wdir).write_text(json.dumps(health))
    assert deployer.recorded_status(ctx) is not None
    later = health["checked_at"] + stale_after(SETTINGS) + 1
    assert read_recorded(wdir, SETTINGS, now=later) is None  # too old

    health["deployed_at"] = 1.0  # another deploy's
    health_path(wdir).write_text(json.dumps(health))
    assert deployer.recorded_status(ctx) is None

    health_path(wdir).write_text("{not json")
    assert deployer.recorded_status(ctx) is None
    deployer.destroy(ctx)


def test_no_prober_when_background_checks_are_off(env: EnvironmentInfo) -> None:
    deployer = LocalDeployer(Settings(readiness_timeout=20, health_period=0))
    ctx = ctx_for(env)
    deployer.deploy(ctx, web())
    supervisor = Supervisor(env, SETTINGS)
    assert supervisor.info(prober_program("web")) is None
    assert not os.path.exists(health_path(WorkloadDir(env, "web")))
    assert deployer.recorded_status(ctx) is None
    assert deployer.status(ctx).state == "ready"
    deployer.destroy(ctx)
