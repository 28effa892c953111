"""The one journaling protocol of a run: an intent is durable before its side effect, and
its outcome (the node's new record, or its removal) is written when the intent closes.

Every write goes through :meth:`StateStore.journal` (one transaction where the
backend has them), whether it closes the outcomes of a scheduler round and opens the
intents of the next, or journals the single deploy of a deployment node. A run killed
between an intent and its outcome leaves the intent pending for
:mod:`podium.engine.reconcile`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podium.platform.contract import Intent, IntentOutcome, ResourceRecord, StateStore

if TYPE_CHECKING:
    from podium.engine.plan import Change
    from podium.engine.records import DeploymentIntent, ResourceIntent
    from podium.provisioning.contract import ResourceContext


@dataclass
class Prepared:
    """A resource change ready to run: its context and the intent to journal first."""

    change: Change
    registered: Any
    operation: str  #: create, update or delete
    ctx: ResourceContext
    intent: Intent
    previous: dict[str, Any] | None = None
    applied_digest: str = ""
    spec_hash: str = ""
    intent_id: int = 0


@dataclass
class Completion:
    """The outcome of a journaled change, to write when its intent is closed."""

    outcome: IntentOutcome
    outputs: dict[str, Any] | None  #: None for a delete


@dataclass(frozen=True)
class Committed:
    """Whether a scheduler round's transaction committed; falsy with its error if not."""

    error: BaseException | None

    def __bool__(self) -> bool:
        return self.error is None


class Journal:
    """Intents and outcomes of one run (``run_id``) in ``store``."""

    def __init__(self, store: StateStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    def intent(self, node: str, action: str, spec: ResourceIntent | DeploymentIntent) -> Intent:
        """The intent of ``action`` on ``node`` (not yet journaled)."""
        return Intent(node=node, action=action, spec=spec.to_dict(), run_id=self.run_id)

    def open(self, intent: Intent) -> int:
        """Journal one intent before its side effect; returns its id."""
        return self.store.journal([], [intent])[0]

    def close(
        self, intent_id: int, *, record: ResourceRecord | None = None, delete_uid: str | None = None
    ) -> None:
        """Close one intent with its outcome (``record`` written, ``delete_uid`` removed, or
        neither: nothing happened)."""
        self.store.journal([IntentOutcome(intent_id, record=record, delete_uid=delete_uid)], [])

    def round(self, completions: Sequence[Completion], prepared: Sequence[Prepared]) -> Committed:
        """One transaction: the outcomes of finished changes and the intents of new ones
        (their ids are set on ``prepared``)."""
        try:
            ids = self.store.journal([c.outcome for c in completions], [p.intent for p in prepared])
        except Exception as exc:
            return Committed(exc)
        for item, intent_id in zip(prepared, ids, strict=True):
            item.intent_id = intent_id
        return Committed(None)

    def abandon(self, intent_ids: Sequence[int]) -> None:
        """Close intents whose changes will not start (a cancel): nothing happened."""
        ids = [i for i in intent_ids if i]
        if ids:
            self.store.journal([IntentOutcome(i) for i in ids], [])
