"""Observability nodes: ask telemetry plugins to configure a deployed workload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from podium.platform.contract import ResourceRecord

if TYPE_CHECKING:
    from podium.engine.handlers.context import ApplyContext
    from podium.engine.handlers.deployment import DeploymentHandler
    from podium.engine.plan import Change


class ObservabilityHandler:
    def __init__(self, run: ApplyContext, deployments: DeploymentHandler) -> None:
        self.run = run
        self.deployments = deployments  # renders a workload this run did not deploy

    def forget(self, change: Change) -> str:
        """Plugins undo what they set up (``podium_remove_telemetry``); the record goes."""
        run = self.run
        workload_name = change.workload or change.uid.split(":", 1)[1]
        run.rt.plugins.broadcast("podium_remove_telemetry", workload=workload_name, env=run.rt.env)
        run.rt.store.delete_record(change.uid)
        return "forgotten"

    def configure(self, change: Change) -> str:
        run = self.run
        workload_name = change.workload or ""
        rendered, result = run.rendered.get(workload_name) or (None, None)
        if rendered is None:
            from podium.deployment.contract import DeploymentResult

            rendered = self.deployments.render(workload_name)
            outputs = run.outputs_of(f"deployment:{workload_name}")
            result = DeploymentResult(outputs=outputs, urls=list(outputs.get("urls") or []))
        configs = run.rt.plugins.broadcast(
            "podium_configure_telemetry", workload=rendered, deployment=result, env=run.rt.env
        )
        outputs = {
            r.plugin.name: {
                "provider": r.value.provider,
                "description": r.value.description,
                **r.value.outputs,
            }
            for r in configs
        }
        run.rt.store.put_record(
            ResourceRecord(
                uid=change.uid,
                kind="observability",
                provider=change.provider,
                plugin=change.plugin,
                spec=dict(change.spec),
                spec_hash=change.node().spec_hash,
                outputs=run.rt.cipher.seal(outputs),
                physical_name=workload_name,
                depends_on=list(change.depends_on),
                updated_at=datetime.now(UTC).isoformat(),
                owner=change.owner,
            )
        )
        return (
            ", ".join(f"{k}: {v['description']}" for k, v in outputs.items())
            or "nothing to configure"
        )
