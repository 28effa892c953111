"""The environment's deployer checks each workload at ``validate`` and ``plan`` time.

:meth:`Deployer.check_workload <podium.deployment.contract.Deployer.check_workload>`
says what the deployer cannot run (a process deployer without a ``command``, a
cloud deployer given ``image: .``) before anything changes, with the Score file's
line. Its findings are capabilities, not policies: ``[policies]`` levels leave them as
the deployer says. A deployer that raises fails the command (fail closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from podium.engine.runtime import EngineRuntime
from podium.errors import PluginError
from podium.plugins.kinds import DEPLOYERS
from podium.security.contract import Finding
from podium.workload.model import Workload


def deployer_findings(rt: EngineRuntime, workloads: Sequence[Workload]) -> list[Finding]:
    """What the environment's deployer says about each of ``workloads`` (none without one)."""
    name = rt.env_config.deployer
    if name is None or not workloads:
        return []
    registered = rt.plugins.registered(DEPLOYERS, name)
    check = getattr(registered.obj, "check_workload", None)
    if check is None:  # not a Deployer subclass: nothing to ask
        return []

    def collected(workload: Workload, env: Any) -> list[Any]:
        # Inside the attributed call: a generator's errors are the plugin's too.
        return list(check(workload, env) or ())

    findings: list[Finding] = []
    for workload in workloads:
        found = rt.plugins.call_instrumented(
            registered.plugin, f"{registered.name}.check_workload", collected, workload, rt.env
        )
        for finding in found:
            if not isinstance(finding, Finding):
                raise PluginError(
                    f"deployer {name!r}: check_workload returned {type(finding).__name__}, "
                    "not a Finding",
                    plugin=registered.plugin.name,
                    distribution=registered.plugin.distribution,
                    version=registered.plugin.version,
                )
            findings.append(finding if finding.subject else replace(finding, subject=workload.name))
    return findings
