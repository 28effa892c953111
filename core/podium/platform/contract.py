"""What state backends, CLI commands and workload templates are: the interfaces behind the
platform hooks.

A state backend stores one platform environment's state: resource records, the
intent journal, generated values, the lease lock, apply history and releases.
The core encrypts every secret before it reaches a backend, so backends only see
JSON with opaque ``{"$secret": "<token>"}`` objects and never need a key.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from podium.platform.context import EnvironmentInfo

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable
    from pathlib import Path

    from podium.state.audit_chain import AuditHead, AuditRecord

#: Bookkeeping keys Podium 0.1 kept inside ``ResourceRecord.spec``, and the fields they
#: moved to: a record read with them in its spec is migrated on load (and written back
#: without them), so a param named like one of them is a param again.
LEGACY_BOOKKEEPING_KEYS: dict[str, str] = {
    "_digest": "digest",
    "_failed": "failed_release",
    "_rolled_back_to": "rolled_back_to",
    "_attributes": "attributes",
    # added after 0.1: where a store without a bookkeeping column keeps it in the spec
    "_source": "source",
}
#: The record's bookkeeping fields (what :meth:`ResourceRecord.bookkeeping` returns).
BOOKKEEPING_FIELDS = tuple(LEGACY_BOOKKEEPING_KEYS.values())


@dataclass
class ResourceRecord:
    """What state knows about one applied node (a resource, a deployment...).

    ``spec`` is the node spec as applied, nothing else; the engine's own notes about
    the node (``digest``, ``failed_release``, ``rolled_back_to``, ``attributes``, ``source``) live
    beside it (a backend stores them as :meth:`bookkeeping`), as does a deployment's ``source``.
    """

    uid: str  #: node id, e.g. ``resource:postgres.default#web.db`` or ``deployment:web``
    kind: str  #: ``resource``, ``deployment`` or ``observability``
    provider: str  #: the provisioner or deployer registration name
    plugin: str  #: the plugin that provided it
    spec: dict[str, Any]  #: the applied desired spec (secrets encrypted)
    spec_hash: str
    outputs: dict[str, Any] = field(default_factory=dict)  #: secrets encrypted
    physical_name: str | None = None
    depends_on: list[str] = field(default_factory=list)
    updated_at: str = ""
    #: the team or directory that owns the node (see :mod:`podium.identity`); ``None``
    #: for a record written before Podium recorded owners, until a plan adopts it
    owner: str | None = None
    #: a digest of what was applied (a resource's resolved params, a deployment's rendered
    #: workload): apply skips an update whose digest is unchanged; ``""`` checks again
    digest: str | None = None
    #: a deployment whose last release failed: its number (the next plan deploys again)
    failed_release: int | None = None
    #: a deployment rolled back to this release (the next plan deploys the files' version)
    rolled_back_to: int | None = None
    #: a deployment's workload attributes as deployed, which the next plan's diff compares
    attributes: dict[str, Any] | None = None
    #: a deployment's Score source as last deployed: ``{"path", "digest", "text"}`` (``path``
    #: relative to the platform root, ``""`` without a file); ``podium plan --all`` plans it
    source: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.spec, dict) and not self.spec.keys().isdisjoint(LEGACY_BOOKKEEPING_KEYS):
            self.spec = dict(self.spec)  # written by Podium 0.1: lift its bookkeeping out
            for key, name in LEGACY_BOOKKEEPING_KEYS.items():
                value = self.spec.pop(key, None)
                if value is not None and getattr(self, name) is None:
                    setattr(self, name, value)

    def bookkeeping(self) -> dict[str, Any]:
        """The engine's bookkeeping fields that are set, by field name (a backend's column)."""
        return {
            name: getattr(self, name)
            for name in BOOKKEEPING_FIELDS
            if getattr(self, name) is not None
        }

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceRecord:
        """The inverse of :meth:`to_dict`; also reads a dict written by Podium 0.1."""
        return cls(**data)


@dataclass
class Intent:
    """A journaled side effect about to happen. It stays pending until its outcome is recorded."""

    node: str
    action: str  #: ``create``, ``update``, ``delete``, ``deploy``, ``destroy``...
    spec: dict[str, Any]  #: enough to reconcile: provider, physical name, params (encrypted)
    run_id: str
    id: int | None = None
    started_at: str = ""


@dataclass(frozen=True)
class IntentOutcome:
    """How an intent ended: the node's new record, or the uid whose record goes."""

    intent_id: int
    record: ResourceRecord | None = None
    delete_uid: str | None = None


@dataclass(frozen=True)
class LockInfo:
    owner: str  #: the actor of the run holding it (:func:`podium.identity.actor`)
    host: str
    pid: int
    run_id: str
    acquired_at: float
    expires_at: float
    operation: str = "apply"
    #: the fencing token: set by the store when it grants the lease, higher than every
    #: earlier lease of the environment (0: a backend that does not fence)
    epoch: int = 0
    #: the holder's kernel boot id and PID namespace (:func:`podium.state.lease.lease_identity`):
    #: its pid means something only where all three of host, boot id and namespace match
    boot_id: str = ""
    pid_namespace: str = ""


class StateStore(ABC):
    """One environment's state. Every method is a complete, durable transaction."""

    # --- version -------------------------------------------------------------
    @abstractmethod
    def serial(self) -> int:
        """A number that increases with every change to records; saved plans compare it."""

    # --- records -------------------------------------------------------------
    @abstractmethod
    def records(self) -> list[ResourceRecord]: ...

    @abstractmethod
    def put_record(self, record: ResourceRecord) -> None: ...

    @abstractmethod
    def delete_record(self, uid: str) -> None: ...

    # --- intent journal ------------------------------------------------------
    @abstractmethod
    def begin_intent(self, intent: Intent) -> int:
        """Durably record an intent before its side effect; return its id."""

    @abstractmethod
    def complete_intent(
        self, intent_id: int, *, record: ResourceRecord | None = None, delete_uid: str | None = None
    ) -> None:
        """Atomically close an intent and write (or delete) the node's record."""

    def begin_intents(self, intents: Sequence[Intent]) -> list[int]:
        """Durably record several intents; one transaction where the backend can.

        The engine journals every change it is about to start together, so a
        backend that commits them at once makes durable journaling cheap.
        """
        return [self.begin_intent(intent) for intent in intents]

    def complete_intents(self, outcomes: Sequence[IntentOutcome]) -> None:
        """Close several intents with their outcomes; one transaction where the backend can."""
        for outcome in outcomes:
            self.complete_intent(
                outcome.intent_id, record=outcome.record, delete_uid=outcome.delete_uid
            )

    def journal(self, outcomes: Sequence[IntentOutcome], intents: Sequence[Intent]) -> list[int]:
        """Close ``outcomes`` and record new ``intents``; one transaction where the backend can.

        The engine calls this once per scheduling round; returns the new intents' ids.
        """
        self.complete_intents(outcomes)
        return self.begin_intents(intents)

    @abstractmethod
    def pending_intents(self) -> list[Intent]: ...

    # --- generated values (encrypted by the core) ---------------------------
    @abstractmethod
    def get_generated(self, node: str, key: str) -> str | None: ...

    @abstractmethod
    def put_generated(self, node: str, key: str, token: str) -> None:
        """Keep ``token`` (opaque, sealed by the core) for ``node``; does not move the serial.

        The core also keeps its key check here, under the reserved node
        ``podium:key-check`` (see :mod:`podium.security.key_check`): it proves which
        key the environment's state is sealed with, so a wrong key is refused
        before anything is created. A backend stores it like any other value.
        """

    @abstractmethod
    def forget_generated(self, node: str) -> None: ...

    # --- lease lock ----------------------------------------------------------
    @abstractmethod
    def acquire_lock(self, info: LockInfo) -> LockInfo | None:
        """Take the lock or raise :class:`~podium.errors.LockedError` naming the holder.

        An expired lease may be taken over, and so may one whose holder ran on
        this host, in this boot and PID namespace, and has died
        (:func:`podium.state.lease.takeover_reason`); the lease taken over is
        returned (else ``None``) so the caller can report it.

        A fencing store gives each new holder an ``epoch`` above every earlier
        one (a run taking its own lease again keeps its epoch); :meth:`lock_info`
        reports it.
        """

    @abstractmethod
    def renew_lock(self, run_id: str, expires_at: float) -> None:
        """Extend ``run_id``'s lease; :class:`~podium.errors.LeaseLostError` if it is not its own
        any more (any other error is taken as the state not answering, for now)."""

    @abstractmethod
    def release_lock(self, run_id: str) -> None: ...

    @abstractmethod
    def lock_info(self) -> LockInfo | None: ...

    @abstractmethod
    def force_unlock(self) -> LockInfo | None:
        """Remove the lock whoever holds it; return what it was.

        A fencing store also moves the epoch on, so the removed holder's writes
        are refused from now on, and clears a lock it cannot even read.
        """

    def fenced(self, epoch: int) -> StateStore:
        """This store as seen by the run holding the lease of ``epoch`` (plugin API 1.2).

        Every write through the returned store first checks, in the same atomic
        step as the write, that no later lease exists, and raises
        :class:`~podium.errors.LeaseLostError` if one does. Reads are unchanged.
        The default returns the store itself: a backend written before fencing
        keeps working, without its protection (the engine logs a warning).
        """
        return self

    # --- history and releases -------------------------------------------------
    @abstractmethod
    def add_history(self, entry: dict[str, Any]) -> int: ...

    @abstractmethod
    def update_history(self, entry_id: int, entry: dict[str, Any]) -> None: ...

    @abstractmethod
    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """Most recent first; each entry has an ``id``."""

    # --- the audit chain (optional) -------------------------------------------
    #: Whether this backend keeps history as a hash-chained, append-only audit trail
    #: (:meth:`audit_head`, :meth:`audit_records`); backends written before do not.
    audit_chained: bool = False

    def audit_head(self) -> AuditHead | None:
        """The head of this environment's hash-chained audit trail (plugin API 1.2,
        optional: see :mod:`podium.state.audit_chain`).

        ``None`` in a chaining backend (:attr:`audit_chained`) means the head was
        lost, which ``podium audit verify`` reports. A chaining backend keeps history
        append-only: ``update_history`` appends an outcome record, and ``history``
        shows each entry as its latest record.
        """
        return None

    def audit_records(self, after: int = 0, limit: int = 500) -> list[AuditRecord]:
        """Up to ``limit`` records of the chain with ``seq`` above ``after``, in ``seq`` order."""
        return []

    @abstractmethod
    def add_release(self, workload: str, data: dict[str, Any]) -> int:
        """Append a release; return its number (1, 2, ... per workload)."""

    @abstractmethod
    def releases(self, workload: str) -> list[dict[str, Any]]:
        """Oldest first; each has ``number``."""

    # --- rekey ------------------------------------------------------------------
    def reseal(self, reseal: Callable[[str], str]) -> int:
        """Seal every secret of this state again (``podium state rekey``; plugin API 1.3).

        ``reseal`` takes one sealed token and returns it sealed with the new key
        (the same token if it already is). Apply it to every token the store keeps:
        each ``{"$secret": token}`` nested in records (spec, outputs, bookkeeping),
        intents, history and releases (:func:`~podium.security.crypto.reseal_value`
        walks a JSON value), and every generated value, which is a bare token (the
        key check among them). Return how many tokens changed.

        It need not be one transaction: until it has returned for every store the
        old key and the new one both open every value, and a rekey that stopped
        half-way runs it again. Each value must be replaced whole (never half
        written). The caller holds the environment's lock. The default refuses: a
        backend written before rekey existed cannot be re-keyed, and the rekey stops
        before it switches keys.
        """
        from podium.errors import StateError

        raise StateError(
            f"state backend {type(self).__name__} cannot re-seal its state "
            "(it implements no StateStore.reseal, plugin API 1.3); the state key was not changed",
            hint="upgrade the state backend's plugin",
        )

    def close(self) -> None:  # noqa: B027 - optional for implementations
        """Release connections."""


class TransactionalStateStore(StateStore):
    """A store whose :meth:`journal` is one transaction: the other journal calls use it.

    Backends with real transactions (SQLite, PostgreSQL) implement ``journal``
    only; the single-intent and batch methods below follow from it.
    """

    @abstractmethod
    def journal(self, outcomes: Sequence[IntentOutcome], intents: Sequence[Intent]) -> list[int]:
        """Close ``outcomes`` and insert ``intents`` in one transaction: all of it or none."""

    def begin_intent(self, intent: Intent) -> int:
        return self.journal([], [intent])[0]

    def begin_intents(self, intents: Sequence[Intent]) -> list[int]:
        return self.journal([], intents)

    def complete_intent(
        self, intent_id: int, *, record: ResourceRecord | None = None, delete_uid: str | None = None
    ) -> None:
        self.journal([IntentOutcome(intent_id, record=record, delete_uid=delete_uid)], [])

    def complete_intents(self, outcomes: Sequence[IntentOutcome]) -> None:
        self.journal(outcomes, [])


class StateBackend(ABC):
    """Opens state stores. ``[state] backend = NAME`` selects one; ``[state] options`` configure it."""

    name: ClassVar[str]

    @abstractmethod
    def open(self, env: EnvironmentInfo, options: dict[str, Any]) -> StateStore: ...


@dataclass(frozen=True)
class CliCommand:
    """A command a plugin adds to ``podium``: ``command`` is a ``click.Command``.

    With ``--json`` (anywhere on the command line) stdout is kept for one JSON document
    and other writes go to stderr; a command writes its document with
    ``click.get_current_context().find_root().obj.echo_document(text)``, and reports
    failure by raising a :class:`~podium.errors.PodiumError` (its ``exit_code`` is the
    process's).
    """

    name: str
    command: Any
    help: str = ""


@dataclass(frozen=True)
class WorkloadTemplate:
    """A workload template a plugin ships: ``podium new NAME DIR`` scaffolds a service from it.

    ``source`` is a directory (package data, e.g.
    ``importlib.resources.files(__package__) / "templates" / "python-web"``) holding one
    subdirectory per released version, named by its PEP 440 version (``1.0.0``,
    ``1.1.0``...). Each is a complete `copier <https://copier.readthedocs.io>`_ template
    (``copier.yml`` and the files, ``*.jinja`` rendered). Podium turns them into a
    temporary git repository with one commit and tag per version, which is what copier
    needs to update a generated service with a three-way merge
    (``podium template update``): keep every version a service may have been generated
    from, and never change a released one. See the *Golden paths* guide.
    """

    name: str  #: what ``podium new`` takes; unique among the platform's plugins
    source: Traversable | Path  #: the directory of version directories
    description: str = ""  #: one line for ``podium new --list``
