"""The engine session: one environment's lease, reconcile, journal, history and releases.

:class:`~podium.api.Platform` is the facade users call; everything that changes an
environment's state runs here, under one protocol:

1. take the lease (waiting up to ``lock_timeout``), keeping the
   :class:`~podium.engine.runtime.LeaseLock` in :attr:`EngineSession.lease` for the
   whole operation (so a check of the lease before each side effect is one call);
2. resolve intents a dead run left pending (:mod:`podium.engine.reconcile`) before
   anything else reads the records;
3. journal an intent before every side effect (the executor's changes, a manual or
   automatic rollback's deploy) and close it with its outcome in one transaction;
4. record the run in history (``running`` first, then how it ended) and each deploy
   as a release.

Planning needs no lease: :meth:`EngineSession.reconcile_if_needed` resolves a dead
run's leftovers when the lease is free and only reports those of a live run.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from podium.engine.records import (
    DeploymentIntent,
    HistoryChange,
    HistoryEntry,
    PendingIntent,
    ReleaseEntry,
    now,
)
from podium.engine.runtime import EngineRuntime, LeaseLock
from podium.errors import LockedError, NotFoundError, StalePlanError
from podium.platform.contract import Intent, ResourceRecord
from podium.plugins.kinds import DEPLOYERS, PROVISIONERS

if TYPE_CHECKING:
    from podium.engine.apply import ApplyResult
    from podium.engine.graph import Node
    from podium.engine.plan import Plan


class EngineSession:
    """The engine's work on one environment for one platform operation.

    ``actor`` names who runs it (history, the lease); ``stop`` is the operation's
    cancel event (:class:`~podium.engine.runs.ActiveRuns`).
    """

    def __init__(
        self, rt: EngineRuntime, actor: str, *, stop: threading.Event | None = None
    ) -> None:
        self.rt = rt
        self.actor = actor
        self.stop = stop
        #: the lease this session holds, during :meth:`leased` (``None`` outside it)
        self.lease: LeaseLock | None = None

    @property
    def where(self) -> str:
        return f"{self.rt.platform}/{self.rt.env.environment}"

    # ------------------------------------------------------------------ lease
    def waiting(self, timeout: float) -> Callable[[LockedError], None]:
        """What to tell (an event) once a wait for another run's lease begins."""

        def tell(locked: LockedError) -> None:
            self.rt.event(
                "lock.waiting",
                message=f"waiting up to {timeout:g}s: {locked.message}",
                timeout=timeout,
            )

        return tell

    def wait_until_unlocked(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for no live run to hold the lease (without taking it)."""
        from podium.engine.runtime import wait_until_unlocked

        wait_until_unlocked(self.rt.store, self.where, timeout, self.stop, self.waiting(timeout))

    @contextmanager
    def leased(
        self, operation: str, timeout: float = 0.0, *, reconcile: bool = True
    ) -> Iterator[LeaseLock]:
        """Hold the lease for ``operation``, with every pending intent resolved first (one
        that cannot be stays pending, reported in an event: see :mod:`podium.engine.reconcile`)."""
        with LeaseLock(
            self.rt.store,
            self.rt.lock_ttl,
            operation,
            self.actor,
            timeout=timeout,
            stop=self.stop,
            on_wait=self.waiting(timeout),
        ) as lease:
            self.lease = lease
            unfenced = self.rt.store
            self.rt.store = lease.fenced  # every write of the operation is fenced by its lease
            try:
                if reconcile and self.rt.store.pending_intents():
                    from podium.engine.reconcile import reconcile as resolve_pending

                    resolve_pending(self.rt)
                yield lease
            finally:
                self.rt.store = unfenced
                self.lease = None

    # ---------------------------------------------------------- pending intents
    def pending(self) -> list[PendingIntent]:
        """The intents pending in this environment (a live run's, or left by a dead one)."""
        cipher = self.rt.cipher
        return [
            PendingIntent.of(intent, cipher.unseal(intent.spec))
            for intent in self.rt.store.pending_intents()
        ]

    def resolve(self, node: str, how: str, lock_timeout: float = 0.0) -> list[str]:
        """Settle the pending intents of ``node`` by hand (``gone``, ``adopt`` or ``retry``:
        :func:`podium.engine.reconcile.resolve`); returns what was done."""
        from podium.engine.reconcile import resolve

        with self.leased("resolve", lock_timeout, reconcile=False):
            pending = self.rt.store.pending_intents()
            mine = [intent for intent in pending if intent.node == node]
            if not mine:
                nodes = ", ".join(sorted({i.node for i in pending})) or "none"
                raise NotFoundError(
                    f"no pending intent for {node!r} in {self.rt.env.environment!r}",
                    hint=f"pending: {nodes} ('podium state intents' lists them)",
                )
            notes = [resolve(self.rt, intent, how) for intent in mine]
        for note in notes:
            self.rt.event("reconcile", node, note, resolution=how)
        return notes

    def reconcile_if_needed(self) -> list[str]:
        """Resolve intents a dead run left pending; only report those of a live run.

        A plan never waits for nor fails on the lease: intents pending under another
        run's live lease are changes in flight, not leftovers.
        """
        pending = self.rt.store.pending_intents()
        if not pending:
            return []
        from podium.engine.reconcile import reconcile

        lease = LeaseLock(self.rt.store, self.rt.lock_ttl, "reconcile", self.actor)
        try:
            lease.__enter__()
        except LockedError:
            held = self.rt.store.lock_info()
            holder = (
                f"{held.owner} (run {held.run_id}, {held.operation})" if held else "another run"
            )
            return [
                f"{len(pending)} operation(s) in flight under the lease held by {holder}: this "
                "plan shows state from before they finish; plan again once that run ends"
            ]
        try:
            from dataclasses import replace

            return reconcile(replace(self.rt, store=lease.fenced))
        finally:
            lease.__exit__(None, None, None)

    def span(self, name: str) -> Any:
        """An OpenTelemetry span for the operation, or nothing without a tracer."""
        if self.rt.tracer is None:
            return nullcontext()
        return self.rt.tracer.start_as_current_span(
            name,
            attributes={
                "podium.platform": self.rt.platform,
                "podium.environment": self.rt.env.environment,
            },
        )

    # ------------------------------------------------------------------ apply
    def apply(
        self,
        plan: Plan,
        *,
        parallelism: int,
        take_over: Any = (),
        lock_timeout: float = 0.0,
        config_digest: str = "",
    ) -> ApplyResult:
        """Apply a verified, unblocked ``plan`` under the lease; history records the run."""
        from podium.engine.apply import ApplyResult, Executor
        from podium.engine.ownership import claim_records
        from podium.engine.staleness import check_not_stale

        rt = self.rt
        operation = "destroy" if plan.destroy else "apply"
        started = time.perf_counter()
        with self.span(f"podium.{operation}"), self.leased(operation, lock_timeout) as lease:
            check_not_stale(plan, rt.store.serial(), rt.store.records())
            if plan.config_digest and plan.config_digest != config_digest:
                raise StalePlanError(
                    "the platform config changed since this plan was made",
                    hint="run 'podium plan' again",
                )
            claim_records(rt.store, plan, take_over)
            entry = self._run_entry(plan, operation, lease.run_id)
            entry.started_at = now()
            history_id = rt.store.add_history(entry.to_dict())
            if lease.took_over is not None:
                held = lease.took_over
                rt.event(
                    "lock.recovered",
                    message=f"took over the expired or dead lock of {held.owner} (pid {held.pid})",
                )
            rt.event(
                f"{operation}.started",
                message=f"{operation} {plan.environment}",
                counts=plan.counts,
            )
            executor = Executor(rt, plan, lease.run_id, parallelism, lease, self.stop)
            results = executor.run()
            lease.raise_if_lost(results)
            result = ApplyResult(
                platform=rt.platform,
                environment=plan.environment,
                run_id=lease.run_id,
                results=results,
                seconds=time.perf_counter() - started,
                history_id=history_id,
                cancelled=executor.cancelled,
            )
            entry = dataclasses.replace(entry, finished_at=now())  # same plan, same digest
            entry.status = run_status(result)
            entry.result = result.counts
            entry.seconds = round(result.seconds, 3)
            entry.changes = [HistoryChange(r.uid, r.action, r.status, r.message) for r in results]
            rt.store.update_history(history_id, entry.to_dict())
        rt.event(
            f"{operation}.finished",
            message=f"{operation} {plan.environment}",
            ok=result.ok,
            counts=result.counts,
            cancelled=result.cancelled,
        )
        return result

    def _run_entry(self, plan: Plan, operation: str, run_id: str) -> HistoryEntry:
        from podium.engine.audit import plan_digest, plan_workload_names
        from podium.engine.data_loss import data_loss_uids

        lost = data_loss_uids(plan.changes) if plan.allow_data_loss else []
        return HistoryEntry(
            run_id=run_id,
            operation=operation,
            who=self.actor,
            status="running",
            counts=plan.counts,
            workloads=plan_workload_names(plan),
            take_over=list(plan.take_over) or None,
            allowed_data_loss=lost or None,
            plan_digest=plan_digest(plan),
        )

    # --------------------------------------------------------------- rollback
    def rollback(
        self, workload: str, *, to: int | None = None, lock_timeout: float = 0.0
    ) -> dict[str, Any]:
        """Redeploy an earlier release (default: the last good one before the current).

        Journaled like any deploy: the intent is durable before the deployer is
        called, and closed together with the deployment's new record, so a run killed
        in between leaves an intent the next run reconciles (the next plan redeploys).
        """
        from podium.deployment.contract import Release
        from podium.engine.deploy_context import deploy_context
        from podium.engine.graph import digest, fingerprint_secrets
        from podium.engine.live_outputs import LiveValues, references
        from podium.engine.release_secrets import with_current_secrets

        rt = self.rt
        uid = f"deployment:{workload}"
        with self.leased("rollback", lock_timeout) as lease:
            store, cipher = rt.store, rt.cipher  # the fenced store, while leased
            record = next((r for r in store.records() if r.uid == uid), None)
            if record is None:
                raise NotFoundError(
                    f"workload {workload!r} is not deployed in {rt.env.environment!r}"
                )
            releases = [cipher.unseal(r) for r in store.releases(workload)]
            target = _rollback_target(workload, releases, to)
            current = releases[-1]["number"] if releases else 0
            # Never with a secret value rotated since: the current versions replace them.
            target, used, rotated = with_current_secrets(target, rt.env.secret_store)
            kept = {k: v for k, v in target.items() if k != "run_id"}
            recorded = Release.model_validate(kept).workload  # references, never live values
            live = references(kept["workload"])
            if live:  # live outputs are read again: a rollback uses their current values
                values = LiveValues(rt, {r.uid: r for r in store.records()})
                kept["workload"] = values.resolve(kept["workload"])
            release = Release.model_validate(kept)
            registered = rt.plugins.registered(DEPLOYERS, release.deployer)
            number = current + 1
            ctx = deploy_context(
                registered,
                workload,
                rt.env,
                release=number,
                recorded_outputs=record.outputs,
                stop=self.stop,
                timeout=rt.engine.timeout,
                plugins=rt.plugins,  # a rollback renders again: the same patches apply
                owner=record.owner,
            )
            intent_id = store.begin_intent(
                Intent(
                    node=uid,
                    action="deploy",
                    spec=DeploymentIntent(
                        provider=release.deployer,
                        plugin=record.plugin,
                        release=number,
                        rollback_to=release.number,
                        node_spec=record.spec,
                        depends_on=list(record.depends_on),
                        owner=record.owner,
                    ).to_dict(),
                    run_id=lease.run_id,
                )
            )
            try:
                if rotated or live:  # what the deployer made then may hold old values: anew
                    result = rt.plugins.call_instrumented(
                        registered.plugin,
                        f"{registered.name}.deploy",
                        registered.obj.deploy,
                        ctx,
                        release.workload,
                    )
                else:
                    result = rt.plugins.call_instrumented(
                        registered.plugin,
                        f"{registered.name}.rollback",
                        registered.obj.rollback,
                        ctx,
                        release,
                    )
            except BaseException:
                store.complete_intent(intent_id)  # nothing recorded, as before the call
                raise
            outputs = {**result.outputs, "urls": list(result.urls), "release": number}
            self.add_release(
                workload,
                ReleaseEntry(
                    number=number,
                    workload=recorded.model_dump(),
                    deployer=release.deployer,
                    outputs=outputs,
                    status="deployed",
                    note=f"rollback to release {release.number}",
                    run_id=lease.run_id,
                    secrets=used,
                ),
            )
            fingerprinted = fingerprint_secrets(cipher, release.workload.model_dump())
            # The files still describe the newer release: the next plan redeploys it.
            record.digest = digest(fingerprinted)
            record.rolled_back_to = release.number
            record.spec_hash = ""
            record.outputs = cipher.seal(outputs)
            record.updated_at = now()
            store.complete_intent(intent_id, record=record)
            store.add_history(
                HistoryEntry(
                    run_id=lease.run_id,
                    operation="rollback",
                    who=self.actor,
                    finished_at=now(),
                    status="succeeded",
                    workloads=[workload],
                    changes=[
                        HistoryChange(
                            record.uid,
                            "rollback",
                            "succeeded",
                            f"release {number} = release {release.number}",
                        )
                    ],
                ).to_dict()
            )
        rt.event("rollback.finished", record.uid, f"rolled back to release {release.number}")
        return {
            "workload": workload,
            "release": number,
            "rolled_back_to": release.number,
            "urls": result.urls,
        }

    def add_release(self, workload: str, release: ReleaseEntry) -> int:
        """Record a release (its secrets sealed); returns its number."""
        return self.rt.store.add_release(workload, self.rt.cipher.seal(release.to_dict()))

    # ----------------------------------------------------------------- import
    def import_resource(self, node: Node, physical_name: str, owner: str | None) -> ResourceRecord:
        """Record the existing resource ``physical_name`` as ``node`` (read, never changed)."""
        from podium.engine.graph import digest
        from podium.engine.live_outputs import stored_for

        rt = self.rt
        registered = rt.plugins.registered(PROVISIONERS, node.provider)
        ctx = rt.resource_context(node.uid, node.spec, physical_name)
        with self.leased("import"):
            outputs = rt.plugins.call_instrumented(
                registered.plugin, f"{registered.name}.read", registered.obj.read, ctx
            )
            if outputs is None:
                raise NotFoundError(f"{node.provider} finds no resource named {physical_name!r}")
            record = ResourceRecord(
                uid=node.uid,
                kind="resource",
                provider=node.provider,
                plugin=node.plugin,
                spec=dict(node.spec),
                digest=digest("imported"),
                spec_hash=node.spec_hash,
                outputs=rt.cipher.seal(stored_for(registered.obj, outputs, rt.cipher.fingerprint)),
                physical_name=physical_name,
                depends_on=list(node.depends_on),
                updated_at=now(),
                owner=owner,
            )
            rt.store.put_record(record)
        return record


def run_status(result: ApplyResult) -> str:
    """How history records a finished run."""
    if result.cancelled:
        return "cancelled"
    return "succeeded" if result.ok else "failed"


def _rollback_target(
    workload: str, releases: list[dict[str, Any]], to: int | None
) -> dict[str, Any]:
    """The release to return to: ``to``, or the last good one before the current."""
    current = releases[-1]["number"] if releases else 0
    if to is None:
        good = [r for r in releases if r.get("status") == "deployed" and r["number"] < current]
        if not good:
            raise NotFoundError(f"{workload!r} has no earlier good release to roll back to")
        return good[-1]
    found = [r for r in releases if r["number"] == to]
    if not found:
        numbers = ", ".join(str(r["number"]) for r in releases) or "none"
        raise NotFoundError(f"{workload!r} has no release {to}", hint=f"releases: {numbers}")
    return found[0]
