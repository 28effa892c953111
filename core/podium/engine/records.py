"""Typed models of what the engine writes to state besides records: history, releases, intents.

State backends store these as JSON (the ``StateStore`` contract takes and returns
dicts, so plugin backends written against 0.1 keep working); the engine builds
them through these models, so every writer produces the same keys, and reads them
back through :meth:`from_dict` where it needs the fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from podium.engine.release_secrets import RELEASE_KEY
from podium.platform.contract import Intent


def now() -> str:
    """The timestamp format of history, releases and records."""
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class HistoryChange:
    """One node's line in a history entry."""

    uid: str
    action: str
    status: str
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every string, once per node of a run.
        return {
            "uid": self.uid,
            "action": self.action,
            "status": self.status,
            "message": self.message,
        }


@dataclass
class HistoryEntry:
    """One run (or audited change) in an environment's history.

    ``status`` is ``running`` while the run goes on, then ``succeeded``, ``failed``
    or ``cancelled``. Fields left ``None`` are not written.
    """

    run_id: str
    operation: str
    who: str
    status: str
    started_at: str | None = None
    finished_at: str | None = None
    counts: dict[str, int] | None = None
    result: dict[str, int] | None = None
    seconds: float | None = None
    workloads: list[str] = field(default_factory=list)
    take_over: list[str] | None = None
    allowed_data_loss: list[str] | None = None
    changes: list[HistoryChange] | None = None
    #: SHA-256 of the applied plan's canonical JSON (:func:`podium.engine.audit.plan_digest`)
    plan_digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "run_id": self.run_id,
            "operation": self.operation,
            "who": self.who,
        }
        optional = {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "counts": self.counts,
            "result": self.result,
            "seconds": self.seconds,
            "workloads": self.workloads,
            "take_over": self.take_over or None,
            "allowed_data_loss": self.allowed_data_loss or None,
            "plan_digest": self.plan_digest,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        if self.changes is not None:
            data["changes"] = [c.to_dict() for c in self.changes]
        return data


@dataclass
class ReleaseEntry:
    """One release of a workload: what was deployed, by which deployer, and how it went.

    ``workload`` is the rendered workload (a dict; its secrets sealed before it is
    stored); ``secrets`` the platform secrets (key, version, sealed value) it used.
    """

    number: int
    workload: dict[str, Any]
    deployer: str
    outputs: dict[str, Any]
    status: str  #: ``deployed`` or ``failed``
    note: str
    run_id: str
    secrets: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=now)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "workload": self.workload,
            "deployer": self.deployer,
            "outputs": self.outputs,
            "created_at": self.created_at,
            "status": self.status,
            "note": self.note[:500],
            "run_id": self.run_id,
            RELEASE_KEY: self.secrets,
        }


@dataclass(frozen=True)
class DeploymentIntent:
    """The journaled spec of a deploy, a rollback or a destroy of a deployment node.

    Enough for :mod:`podium.engine.reconcile` to resolve it after a crash: which
    deployer, which release, and the node as it would be recorded.
    """

    provider: str
    plugin: str = ""
    release: int | None = None
    rollback_to: int | None = None
    node_spec: dict[str, Any] | None = None
    depends_on: list[str] | None = None
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": "deployment", "provider": self.provider}
        optional: dict[str, Any] = {
            "plugin": self.plugin or None,
            "release": self.release,
            "rollback_to": self.rollback_to,
            "node_spec": self.node_spec,
            "depends_on": self.depends_on,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        if self.release is not None:
            data["owner"] = self.owner
        return data


@dataclass(frozen=True)
class ResourceIntent:
    """The journaled spec of a resource create, update or delete.

    ``params`` are the resolved params, sealed (only they can hold secrets: the node
    spec is what the Score file and the rule say, plain text by construction).
    """

    provider: str
    plugin: str
    physical_name: str
    node_spec: dict[str, Any]
    params: dict[str, Any] | None = None
    spec_hash: str | None = None
    depends_on: list[str] | None = None
    owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": "resource",
            "provider": self.provider,
            "plugin": self.plugin,
            "physical_name": self.physical_name,
        }
        if self.params is not None:  # a create or update; a delete journals the record only
            data.update(
                params=self.params,
                node_spec=self.node_spec,
                spec_hash=self.spec_hash,
                depends_on=self.depends_on,
                owner=self.owner,
            )
        else:
            data["node_spec"] = self.node_spec
        return data


@dataclass(frozen=True)
class PendingIntent:
    """A journaled side effect whose outcome is not recorded, as ``podium state intents``
    shows it (never its params: they may hold secrets)."""

    node: str
    action: str
    run_id: str
    started_at: str
    provider: str
    physical_name: str | None = None
    release: int | None = None

    @classmethod
    def of(cls, intent: Intent, spec: dict[str, Any]) -> PendingIntent:
        """From a pending intent and its unsealed spec."""
        return cls(
            node=intent.node,
            action=intent.action,
            run_id=intent.run_id,
            started_at=intent.started_at,
            provider=str(spec.get("provider", "")),
            physical_name=spec.get("physical_name"),
            release=spec.get("release"),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
