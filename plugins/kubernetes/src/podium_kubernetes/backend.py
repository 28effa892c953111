"""What each mode does with a workload's validated objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from podium.plugin import DeployContext, DeploymentResult, LogLine, RenderedWorkload, WorkloadStatus


class Backend(Protocol):
    """One mode: render (files), podman (kube play) or cluster (server-side apply)."""

    def deploy(
        self,
        ctx: DeployContext,
        workload: RenderedWorkload,
        objects: list[dict[str, Any]],
        text: str,
    ) -> DeploymentResult: ...

    def status(self, ctx: DeployContext) -> WorkloadStatus: ...

    def logs(
        self, ctx: DeployContext, *, container: str | None, follow: bool, tail: int | None
    ) -> Iterator[LogLine]: ...

    def destroy(self, ctx: DeployContext) -> None: ...
