"""One handler per node kind, one method per action; :class:`Handlers` picks it for a change.

=============  ==========================================================
node kind      actions
=============  ==========================================================
resource       create, update, delete (journaled in the scheduler's rounds:
               :meth:`ResourceHandler.prepare` / :meth:`~ResourceHandler.perform`),
               replace (:meth:`ResourceHandler.replace`)
deployment     create/update = deploy (with automatic rollback), delete = destroy
observability  create/update = configure, delete = forget
=============  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from podium.engine.handlers.context import ApplyContext, Unchanged
from podium.engine.handlers.deployment import DeploymentHandler
from podium.engine.handlers.observability import ObservabilityHandler
from podium.engine.handlers.resource import BATCHED, ResourceHandler
from podium.errors import ResourceError

if TYPE_CHECKING:
    from podium.engine.plan import Change

__all__ = ["ApplyContext", "Handlers", "Unchanged"]


class Handlers:
    """The handlers of one run."""

    def __init__(self, run: ApplyContext) -> None:
        self.run = run
        self.resources = ResourceHandler(run)
        self.deployments = DeploymentHandler(run)
        self.observability = ObservabilityHandler(run, self.deployments)

    @staticmethod
    def journaled_in_rounds(change: Change) -> bool:
        """Whether the scheduler journals this change's intent in its round transaction."""
        return change.kind == "resource" and change.action in BATCHED

    def for_change(self, change: Change) -> Callable[[Change], str]:
        """The handler that runs ``change`` start to finish on a worker (returns a message)."""
        if change.kind == "resource":
            return self.resources.replace
        if change.kind == "deployment":
            return (
                self.deployments.destroy if change.action == "delete" else self.deployments.deploy
            )
        if change.kind == "observability":
            return (
                self.observability.forget
                if change.action == "delete"
                else self.observability.configure
            )
        raise ResourceError(f"unknown node kind {change.kind!r}")
