"""Refresh of deployments: ask deployers whether what state records as deployed still runs.

State says what Podium deployed; reality can disagree without any Podium run:
the machine restarted, the process supervisor died, someone stopped a process.
A plan that trusted state alone would say "no changes" forever while the
workload is down, so a refresh asks each recorded deployment's deployer for
its status and the plan redeploys those that need it, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from podium.deployment.contract import DeployContext, WorkloadStatus
from podium.plugins.kinds import DEPLOYERS

if TYPE_CHECKING:
    from podium.engine.graph import Node
    from podium.engine.runtime import EngineRuntime
    from podium.platform.contract import ResourceRecord


def down_deployments(
    rt: EngineRuntime, nodes: Sequence[Node], records: Iterable[ResourceRecord]
) -> dict[str, str]:
    """The planned deployments whose deployer says they need a redeploy, with the reason.

    Only deployments this plan would otherwise leave alone are asked: a new one
    is created anyway, one whose deployer changes is replaced, and one whose last
    deploy failed is deployed again.
    """
    recorded = {r.uid: r for r in records if r.kind == "deployment"}
    down: dict[str, str] = {}
    for node in nodes:
        record = recorded.get(node.uid)
        if node.kind != "deployment" or record is None or record.provider != node.provider:
            continue
        if record.spec.get("_failed") is not None:
            continue
        registered = rt.plugins.registered(DEPLOYERS, record.provider)
        ctx = DeployContext(workload=record.uid.split(":", 1)[1], env=rt.env)
        status: WorkloadStatus = rt.plugins.call_instrumented(
            registered.plugin, f"{registered.name}.status", registered.obj.status, ctx
        )
        if status.needs_redeploy:
            reason = f"deployment {status.state}"
            if status.message:
                reason += f": {status.message}"
            down[node.uid] = reason
            rt.event("drift", node.uid, reason)
    return down


def resources_of(nodes: Sequence[Node], deployments: Iterable[str]) -> frozenset[str]:
    """The resources the given deployments use (directly, as their workloads request them)."""
    wanted = set(deployments)
    return frozenset(dep for node in nodes if node.uid in wanted for dep in node.depends_on)
