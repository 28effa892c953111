"""Apply a plan: walk the graph in parallel, journal every side effect, isolate failures.

Scheduling: a change starts when every change it depends on has succeeded. A
failed change skips its dependents (transitively); independent work goes on.
Deletes run in reverse dependency order. At most ``parallelism`` changes run at
once, and at most ``engine.per_plugin[plugin]`` (or the registration's
``max_parallel``) per plugin.

Crash safety: before each side effect an :class:`Intent` is written to state;
the outcome and the node's record are written in one transaction after it. A
run killed in between leaves a pending intent that :mod:`podium.engine.reconcile`
resolves by asking the provider what really exists.
"""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from podium.deployment.contract import DeployContext, Release, RenderedResource
from podium.engine.attribute_diff import workload_attributes
from podium.engine.graph import digest, fingerprint_secrets
from podium.engine.plan import Change, Plan
from podium.engine.records import DeploymentIntent, ReleaseEntry, ResourceIntent
from podium.engine.release_secrets import secrets_used, with_current_secrets
from podium.engine.runtime import EngineRuntime, LeaseLock
from podium.errors import (
    ApplyFailedError,
    CancelledError,
    NotFoundError,
    PluginError,
    PodiumError,
    ResourceError,
    StateError,
    TransientError,
)
from podium.platform.contract import Intent, IntentOutcome, ResourceRecord
from podium.plugins.kinds import DEPLOYERS, PROVISIONERS
from podium.provisioning.contract import ResourceContext
from podium.provisioning.schema import resource_schema
from podium.security.secret import Secret

NodeStatus = Literal["succeeded", "unchanged", "failed", "skipped"]


@dataclass
class NodeResult:
    uid: str
    action: str
    status: NodeStatus
    message: str = ""
    attempts: int = 0
    seconds: float = 0.0
    error: PodiumError | None = field(default=None, repr=False)
    #: for journaled resource changes: what to record once the scheduler commits it
    completion: _Completion | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "action": self.action,
            "status": self.status,
            "message": self.message,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ApplyResult:
    platform: str
    environment: str
    run_id: str
    results: list[NodeResult]
    seconds: float
    history_id: int | None = None
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    #: the run was cancelled: changes that had not started were skipped
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return all(r.status in ("succeeded", "unchanged") for r in self.results)

    @property
    def failed(self) -> list[NodeResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def counts(self) -> dict[str, int]:
        counts = {"succeeded": 0, "unchanged": 0, "failed": 0, "skipped": 0}
        for result in self.results:
            counts[result.status] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "environment": self.environment,
            "run_id": self.run_id,
            "ok": self.ok,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
            "history_id": self.history_id,
            "cancelled": self.cancelled,
            "results": [r.to_dict() for r in self.results],
        }

    def raise_for_failures(self) -> None:
        """Raise :class:`ApplyFailedError`, or :class:`CancelledError` for a cancelled run."""
        if self.cancelled:
            done = sum(1 for r in self.results if r.status in ("succeeded", "unchanged"))
            raise CancelledError(
                f"{self.environment}: cancelled after {done} change(s); the changes that were "
                "running finished and are recorded, the others did not start",
                result=self,
                hint="run 'podium plan' to see what is left to do",
            )
        if not self.ok:
            failed = ", ".join(f"{r.uid} ({r.message})" for r in self.failed) or "none"
            skipped = sum(1 for r in self.results if r.status == "skipped")
            raise ApplyFailedError(
                f"apply failed: {failed}; {skipped} dependent change(s) skipped", result=self
            )


class Unchanged(Exception):
    """A re-render found nothing to do."""


@dataclass
class _Prepared:
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


@dataclass(frozen=True)
class _Committed:
    """Whether a scheduler round's transaction committed; falsy with its error if not."""

    error: BaseException | None

    def __bool__(self) -> bool:
        return self.error is None


@dataclass
class _Completion:
    """The outcome of a resource change, to write when its intent is closed."""

    outcome: IntentOutcome
    outputs: dict[str, Any] | None  #: None for a delete


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Executor:
    """Runs one plan's changes against the providers, recording every outcome in state."""

    def __init__(
        self,
        rt: EngineRuntime,
        plan: Plan,
        run_id: str,
        parallelism: int,
        lease: LeaseLock | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.rt = rt
        self.lease = lease
        #: set by Platform.cancel()/close(): start nothing new, let running changes finish
        self.stop = stop
        #: whether the stop skipped any change (the run is then recorded as cancelled)
        self.cancelled = False
        self.plan = plan
        self.run_id = run_id
        self.parallelism = max(1, parallelism)
        self.records = {r.uid: r for r in rt.store.records()}
        self._outputs: dict[str, dict[str, Any]] = {}
        self._outputs_lock = threading.Lock()
        self._plugin_infos: dict[str, Any] = {}
        #: rendered workloads and deploy results of this run, for observability nodes
        self._rendered: dict[str, Any] = {}

    # --- outputs -------------------------------------------------------------
    def outputs_of(self, uid: str) -> dict[str, Any]:
        with self._outputs_lock:
            if uid in self._outputs:
                return self._outputs[uid]
        record = self.records.get(uid)
        value: dict[str, Any] = self.rt.cipher.unseal(record.outputs) if record else {}
        with self._outputs_lock:
            self._outputs.setdefault(uid, value)
            return self._outputs[uid]

    def _set_outputs(self, uid: str, outputs: dict[str, Any]) -> None:
        with self._outputs_lock:
            self._outputs[uid] = outputs

    # --- scheduling ------------------------------------------------------------
    def run(self) -> list[NodeResult]:
        """Apply every change; returns one result per change, in plan order.

        Resource creates, updates and deletes take the journaled batch path. Each
        round of the scheduler writes one transaction holding the outcomes of the
        changes that just finished and the intents of the changes their completion
        lets start (resolved here, from the finished changes' outputs). Only after
        that commit do the new changes run, so every intent is durable before its
        side effect and every outcome before its dependents start, at one commit
        per round instead of two per node.
        """
        work = {c.uid: c for c in self.plan.changes if c.action != "no-op"}
        deps = self._execution_deps(work)
        dependents: dict[str, list[str]] = {uid: [] for uid in work}
        for uid, needs in deps.items():
            for need in needs:
                dependents[need].append(uid)
        waiting = {uid: len(needs) for uid, needs in deps.items()}
        ready = sorted(uid for uid, n in waiting.items() if n == 0)
        results: dict[str, NodeResult] = {}
        running: dict[Future[NodeResult], str] = {}
        # Finished futures arrive here; cheaper than concurrent.futures.wait, which
        # installs a waiter on every running future each time round the loop.
        finished: queue.SimpleQueue[Future[NodeResult]] = queue.SimpleQueue()
        per_plugin: dict[str, int] = {}
        started: set[str] = set()  # handed to a worker or finished in this thread

        def release(uid: str) -> None:
            for child in dependents[uid]:
                waiting[child] -= 1
                if waiting[child] == 0 and child not in results:
                    ready.append(child)

        def finish(uid: str, result: NodeResult) -> None:
            results[uid] = result
            if result.status == "failed":
                skip(uid, uid)
            else:
                release(uid)

        def skip(uid: str, because: str) -> None:
            stack = [uid]
            while stack:
                current = stack.pop()
                for child in dependents[current]:
                    if child not in results:
                        results[child] = NodeResult(
                            child, work[child].action, "skipped", f"{because} failed"
                        )
                        self.rt.event("node.skipped", child, f"skipped: {because} failed")
                        stack.append(child)

        with ThreadPoolExecutor(self.parallelism, thread_name_prefix="podium-apply") as pool:

            def submit(change: Change, prepared: _Prepared | None) -> None:
                per_plugin[change.plugin] = per_plugin.get(change.plugin, 0) + 1
                # Each task runs in a copy of this thread's context, so its spans and
                # log context nest under the apply that started it.
                task = contextvars.copy_context()
                future = pool.submit(task.run, self._run_change, change, prepared)
                running[future] = change.uid
                future.add_done_callback(finished.put)

            outcomes: list[NodeResult] = []  # finished, their records not yet durable
            # Changes whose dependencies are durable (and, for journaled ones, whose intent
            # is too), waiting for a free slot: a finished change's slot is refilled at
            # once, without waiting for a commit.
            startable: deque[_Prepared | Change] = deque()

            def fill() -> None:
                held: list[_Prepared | Change] = []
                while startable and len(running) < self.parallelism:
                    item = startable.popleft()
                    change = item.change if isinstance(item, _Prepared) else item
                    if change.uid in results:  # skipped meanwhile
                        continue
                    if self.lease is not None and self.lease.lost is not None:
                        reason = f"state lock lost: {self.lease.lost}"
                        results[change.uid] = NodeResult(
                            change.uid, change.action, "skipped", reason
                        )
                        continue
                    limit = self._plugin_limit(change)
                    if limit is not None and per_plugin.get(change.plugin, 0) >= limit:
                        held.append(item)
                        continue
                    submit(change, item if isinstance(item, _Prepared) else None)
                startable.extendleft(reversed(held))

            def cancel_unstarted() -> None:
                # Intents journaled for changes that will not start are closed now: nothing
                # happened, so no pending intent is left for the next run to reconcile.
                never_run = [i.intent_id for i in startable if isinstance(i, _Prepared)]
                unstarted = [i.change if isinstance(i, _Prepared) else i for i in startable]
                unstarted += [work[uid] for uid in ready]
                startable.clear()
                ready.clear()
                for change in unstarted:
                    if change.uid not in results:
                        self._skip_cancelled(change, results)
                ids = [i for i in never_run if i]
                if ids:
                    self.rt.store.complete_intents([IntentOutcome(i) for i in ids])

            lookahead = 2 * self.parallelism
            while True:
                if self.stop is not None and self.stop.is_set():
                    cancel_unstarted()
                fill()
                to_journal: list[_Prepared] = []
                plain: list[Change] = []  # not journaled here: they start after the commit
                while (
                    ready
                    and len(running) + len(startable) + len(to_journal) + len(plain) < lookahead
                ):
                    uid = ready.pop(0)
                    if uid in results or uid in started:  # skipped meanwhile
                        continue
                    started.add(uid)
                    change = work[uid]
                    if not self._batchable(change):
                        plain.append(change)
                        continue
                    try:
                        to_journal.append(self._prepare(change))
                    except Unchanged as exc:
                        self.rt.event("node.succeeded", uid, str(exc), action=change.action)
                        finish(uid, NodeResult(uid, change.action, "unchanged", str(exc)))
                    except Exception as exc:
                        finish(uid, self._failed(change, exc, 0, 0.0))
                if outcomes or to_journal:
                    committed = self._commit_round(outcomes, to_journal)
                    for result in outcomes:
                        if committed:
                            assert result.completion is not None
                            self._completed(result.uid, result.completion)
                            result.completion = None
                            results[result.uid] = result
                        else:
                            result.status = "failed"
                            result.message = f"recording the outcome failed: {committed.error}"
                            finish(result.uid, result)
                    for item in to_journal:
                        if item.change.uid in results:  # skipped: a dependency failed
                            continue
                        if committed:
                            startable.append(item)
                        else:
                            error = committed.error or StateError("journal failed")
                            finish(item.change.uid, self._failed(item.change, error, 0, 0.0))
                    outcomes = []
                startable.extend(plain)  # after the commit: their dependencies are durable now
                fill()
                if not running:
                    if startable or ready or outcomes:
                        continue
                    break
                done = [finished.get()]
                while not finished.empty():
                    done.append(finished.get())
                for future in done:
                    uid = running.pop(future)
                    per_plugin[work[uid].plugin] -= 1
                    result = future.result()
                    if result.status == "succeeded" and result.completion is not None:
                        # Dependents may be resolved from these outputs now; they start
                        # only after the commit that records this outcome.
                        if result.completion.outputs is not None:
                            self._set_outputs(uid, result.completion.outputs)
                        outcomes.append(result)
                        release(uid)
                    else:
                        finish(uid, result)
        if self.stop is not None and self.stop.is_set():
            for uid, change in work.items():  # what waited on a dependency never ran
                if uid not in results:
                    self._skip_cancelled(change, results)
        return [results[c.uid] for c in self.plan.changes if c.uid in results]

    def _skip_cancelled(self, change: Change, results: dict[str, NodeResult]) -> None:
        self.cancelled = True
        message = "cancelled before it started"
        results[change.uid] = NodeResult(change.uid, change.action, "skipped", message)
        self.rt.event("node.skipped", change.uid, message, action=change.action)

    @staticmethod
    def _batchable(change: Change) -> bool:
        return change.kind == "resource" and change.action in ("create", "update", "delete")

    def _commit_round(self, outcomes: list[NodeResult], intents: list[_Prepared]) -> _Committed:
        """One transaction: the outcomes of finished changes and the intents of new ones."""
        try:
            ids = self.rt.store.journal(
                [r.completion.outcome for r in outcomes if r.completion is not None],
                [p.intent for p in intents],
            )
        except Exception as exc:
            return _Committed(exc)
        for item, intent_id in zip(intents, ids, strict=True):
            item.intent_id = intent_id
        return _Committed(None)

    def _execution_deps(self, work: dict[str, Change]) -> dict[str, set[str]]:
        """Creates wait for what they depend on; deletes wait for what depended on them."""
        deps: dict[str, set[str]] = {uid: set() for uid in work}
        for uid, change in work.items():
            if change.action == "delete":
                continue
            deps[uid] |= {d for d in change.depends_on if d in work and work[d].action != "delete"}
        # Everything that depended on a deleted node goes first, if it is being removed
        # or replaced too (one pass over the edges, not one per deleted node).
        for other_uid, other in work.items():
            if other.action not in ("delete", "replace"):
                continue
            for dep in other.depends_on:
                if dep in work and work[dep].action == "delete":
                    deps[dep].add(other_uid)
        return deps

    def _plugin_limit(self, change: Change) -> int | None:
        limits = [self.rt.engine.per_plugin.get(change.plugin)]
        registered = self._registered(change)
        if registered is not None:
            limits.append(getattr(registered.obj, "max_parallel", None))
        known = [x for x in limits if x]
        return min(known) if known else None

    def _registered(self, change: Change) -> Any:
        try:
            if change.kind == "resource":
                return self.rt.plugins.registered(PROVISIONERS, change.provider)
            if change.kind == "deployment":
                return self.rt.plugins.registered(DEPLOYERS, change.provider)
        except PodiumError:
            return None
        return None

    # --- one change ----------------------------------------------------------
    def _run_change(self, change: Change, prepared: _Prepared | None = None) -> NodeResult:
        started = time.perf_counter()
        self.rt.event(
            "node.started", change.uid, f"{change.action} {change.uid}", action=change.action
        )
        completion: _Completion | None = None
        span_cm = (
            self.rt.tracer.start_as_current_span(
                "podium.node", attributes=self._span_attributes(change)
            )
            if self.rt.tracer is not None
            else None
        )
        span = span_cm.__enter__() if span_cm is not None else None

        def attempt() -> tuple[str, NodeStatus]:
            nonlocal completion
            try:
                if prepared is None:
                    return self._execute(change), "succeeded"
                message, completion = self._perform(prepared)
                return message, "succeeded"
            except Unchanged as exc:
                return str(exc), "unchanged"

        attempts = 1
        try:
            try:
                message, status = attempt()
            except Exception as first:
                if not (self.rt.engine.retries and _is_transient(first)):
                    raise
                outcome, attempts = self._retry(change, attempt, first)
                if isinstance(outcome, BaseException):
                    raise outcome from None
                message, status = outcome
        except Exception as exc:
            if span is not None:
                _record_failure(span, exc)
            return self._failed(change, exc, attempts, time.perf_counter() - started)
        finally:
            if span_cm is not None:
                span_cm.__exit__(None, None, None)
        self.rt.event(
            "node.succeeded", change.uid, message or f"{change.action} done", action=change.action
        )
        seconds = time.perf_counter() - started
        return NodeResult(
            change.uid, change.action, status, message, attempts, seconds, completion=completion
        )

    def _retry(
        self,
        change: Change,
        attempt: Callable[[], tuple[str, NodeStatus]],
        first: BaseException,
    ) -> tuple[tuple[str, NodeStatus] | BaseException, int]:
        """Retry ``attempt`` after the transient failure ``first``, with tenacity: delays
        doubling from ``retry_backoff`` plus jitter (nodes failing together do not retry in
        lockstep), capped at ``retry_max_delay``, ``retries`` times at most. A cancel cuts a
        wait short and the last error stands. Returns the result, or the last error, and
        the attempts made."""
        import tenacity  # only a transient failure pays for the import

        engine = self.rt.engine
        stop = self.stop or threading.Event()
        # tenacity's first attempt replays the failure that already happened; after a
        # cancel (which cuts the wait short) nothing more runs and the last error stands.
        pending: BaseException | None = first
        latest: BaseException = first
        attempts = 1

        def again() -> tuple[str, NodeStatus]:
            nonlocal pending, latest, attempts
            if pending is not None:
                error, pending = pending, None
                raise error
            if stop.is_set():
                raise latest
            attempts += 1
            try:
                return attempt()
            except Exception as exc:
                latest = exc
                raise

        def announce(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome is not None else None
            self.rt.event(
                "node.retrying",
                change.uid,
                f"{error}; retry in {state.upcoming_sleep:.2f}s",
                attempt=state.attempt_number,
                delay=state.upcoming_sleep,
            )

        def pause(seconds: float) -> None:
            stop.wait(seconds)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(engine.retries + 1)
            | tenacity.stop_when_event_set(stop),
            wait=tenacity.wait_exponential_jitter(
                multiplier=engine.retry_backoff,
                max=engine.retry_max_delay,
                jitter=engine.retry_backoff,
            ),
            retry=tenacity.retry_if_exception(_is_transient),
            before_sleep=announce,
            sleep=pause,
            reraise=True,
        )
        try:
            for try_ in retrying:
                with try_:
                    result = again()
                outcome = try_.retry_state.outcome
                if outcome is not None and not outcome.failed:
                    return result, attempts
        except Exception as last:
            return last, attempts
        raise AssertionError("tenacity ended without a result or an error")  # pragma: no cover

    def _failed(
        self, change: Change, exc: BaseException, attempts: int, seconds: float
    ) -> NodeResult:
        error = (
            exc if isinstance(exc, PodiumError) else ResourceError(f"{type(exc).__name__}: {exc}")
        )
        self.rt.event("node.failed", change.uid, str(error), action=change.action)
        return NodeResult(change.uid, change.action, "failed", str(error), attempts, seconds, error)

    def _execute(self, change: Change) -> str:
        if change.kind == "resource":
            return self._resource(change)
        if change.kind == "deployment":
            return self._deployment(change)
        if change.kind == "observability":
            return self._observability(change)
        raise ResourceError(f"unknown node kind {change.kind!r}")

    def _span_attributes(self, change: Change) -> dict[str, str]:
        """The node span's attributes: it is also the span of the plugin calls it makes."""
        attributes = {
            "podium.node": change.uid,
            "podium.action": change.action,
            "podium.plugin": change.plugin,
            "podium.provider": change.provider,
            "podium.hook": f"{change.provider}.{change.action}",
        }
        info = self._plugin_infos.get(change.plugin)
        if info is None and change.kind != "observability":
            try:
                info = self._plugin_infos[change.plugin] = self.rt.plugins.plugin(change.plugin)
            except PodiumError:  # a plugin no longer installed: its deletes still run
                info = None
        if info is not None:
            if info.distribution:
                attributes["podium.plugin.distribution"] = info.distribution
            if info.version:
                attributes["podium.plugin.version"] = info.version
        return attributes

    def _call(
        self, registered: Any, operation: str, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """Call plugin code attributed to its plugin, with the engine's per-call timeout.

        The node span around it carries the plugin's attributes, so the call gets
        no span of its own.
        """

        def call() -> Any:
            return self.rt.plugins.call_attributed(
                registered.plugin, f"{registered.obj.name}.{operation}", func, *args, **kwargs
            )

        timeout = self.rt.engine.timeout
        if timeout is None:
            return call()
        return _with_timeout(call, timeout, registered.plugin, f"{registered.obj.name}.{operation}")

    # --- resources -------------------------------------------------------------
    def _resolved_params(self, change: Change) -> dict[str, Any]:
        from podium.workload.render import resolve_params

        spec = change.spec
        workload = self.rt.workloads.get(spec.get("workload") or "")
        params = dict(spec.get("rule_params") or {})
        if workload is None:
            params.update(spec.get("params") or {})
            return params
        request = workload.resources[spec["name"]]
        # Only the referenced resources: walking every sibling made wide workloads quadratic.
        referenced = [
            workload.resources[n] for n in request.depends_on() if n in workload.resources
        ]
        outputs = {
            req.name: {
                "uid": req.uid,
                "type": req.type,
                "class": req.resource_class,
                "outputs": self.outputs_of(req.uid),
            }
            for req in referenced
        }
        params.update(resolve_params(request, outputs))
        return params

    def _resource(self, change: Change) -> str:
        """A resource change start to finish on this thread (replaces; the batched path
        in :meth:`run` journals intents and outcomes of many changes together)."""
        record = self.records.get(change.uid)
        if change.action == "replace" and record is not None:
            old = self.rt.plugins.registered(PROVISIONERS, record.provider)
            self._run_prepared_now(self._prepare_delete(change, old, record))
        prepared = self._prepare(change)
        return self._run_prepared_now(prepared)

    def _run_prepared_now(self, prepared: _Prepared) -> str:
        prepared.intent_id = self.rt.store.begin_intent(prepared.intent)
        message, completion = self._perform(prepared)
        self.rt.store.complete_intents([completion.outcome])
        self._completed(prepared.change.uid, completion)
        return message

    def _prepare(self, change: Change) -> _Prepared:
        """Resolve params and build the intent of a create or update (raises Unchanged)."""
        registered = self.rt.plugins.registered(PROVISIONERS, change.provider)
        record = self.records.get(change.uid)
        if change.action == "delete":
            assert record is not None
            return self._prepare_delete(change, registered, record)
        params = self._resolved_params(change)
        applied_digest = digest(self._fingerprint(params))
        spec_hash = change.node().spec_hash  # hashing the spec is not free: once per change
        if (
            change.action == "update"
            and record is not None
            and record.digest == applied_digest
            and record.spec_hash == spec_hash
            and not change.redeploy  # unchanged, but a refresh found its outputs drifted
        ):
            raise Unchanged("resolved params unchanged")
        physical = (
            record.physical_name
            if record and record.physical_name
            else self.rt.env.physical_name(change.uid)
        )
        intent = Intent(
            node=change.uid,
            action="update" if record is not None else "create",
            # Only the resolved params can hold secrets: the node spec is what the
            # Score file and the rule say, plain text by construction.
            spec=ResourceIntent(
                provider=change.provider,
                plugin=change.plugin,
                physical_name=physical,
                node_spec=change.spec,
                params=self.rt.cipher.seal(params),
                spec_hash=spec_hash,
                depends_on=change.depends_on,
                owner=change.owner,
            ).to_dict(),
            run_id=self.run_id,
        )
        return _Prepared(
            change=change,
            registered=registered,
            operation=intent.action,
            ctx=self.rt.resource_context(change.uid, change.spec, physical, params),
            intent=intent,
            previous=self.outputs_of(change.uid) if record is not None else None,
            applied_digest=applied_digest,
            spec_hash=spec_hash,
        )

    def _prepare_delete(self, change: Change, registered: Any, record: ResourceRecord) -> _Prepared:
        spec = self.rt.cipher.unseal(record.spec)
        params = {**(spec.get("rule_params") or {}), **(spec.get("params") or {})}
        physical = record.physical_name or self.rt.env.physical_name(record.uid)
        intent = Intent(
            node=record.uid,
            action="delete",
            spec=ResourceIntent(record.provider, record.plugin, physical, record.spec).to_dict(),
            run_id=self.run_id,
        )
        ctx = self.rt.resource_context(record.uid, spec, physical, params)
        return _Prepared(change, registered, "delete", ctx, intent)

    def _perform(self, prepared: _Prepared) -> tuple[str, _Completion]:
        """The side effect of a journaled change (plugin code), and what to record after."""
        registered, ctx, change = prepared.registered, prepared.ctx, prepared.change
        if prepared.operation == "delete":
            self._call(registered, "delete", registered.obj.delete, ctx)
            outcome = IntentOutcome(prepared.intent_id, delete_uid=ctx.uid)
            return "deleted", _Completion(outcome, None)
        if prepared.operation == "update":
            update = registered.obj.update
            outputs = self._call(registered, "update", update, ctx, prepared.previous)
        else:
            outputs = self._call(registered, "create", registered.obj.create, ctx)
        outputs = self._check_outputs(
            registered, _as_outputs(registered, prepared.operation, outputs)
        )
        record = ResourceRecord(
            uid=change.uid,
            kind="resource",
            provider=change.provider,
            plugin=change.plugin,
            spec=change.spec,
            digest=prepared.applied_digest,
            spec_hash=prepared.spec_hash,
            outputs=self.rt.cipher.seal(outputs),
            physical_name=ctx.physical_name,
            depends_on=list(change.depends_on),
            updated_at=_now(),
            owner=change.owner,
        )
        message = "updated" if prepared.operation == "update" else f"created {ctx.physical_name}"
        return message, _Completion(IntentOutcome(prepared.intent_id, record=record), outputs)

    def _completed(self, uid: str, completion: _Completion) -> None:
        """After the outcome is durable: make outputs visible to dependents."""
        if completion.outputs is None:
            self.records.pop(uid, None)
            self.rt.store.forget_generated(uid)
        else:
            self._set_outputs(uid, completion.outputs)

    def _journal(self, node: str, action: str, spec: DeploymentIntent) -> int:
        """Durably record an intent before its side effect; returns its id."""
        intent = Intent(node=node, action=action, spec=spec.to_dict(), run_id=self.run_id)
        return self.rt.store.begin_intent(intent)

    def _check_outputs(self, registered: Any, outputs: dict[str, Any]) -> dict[str, Any]:
        """Wrap outputs the provisioner declares sensitive, so they can never leak as plain text.

        Whether every declared output is returned is the conformance kit's check.
        """
        for key in resource_schema(registered.obj).sensitive_outputs:
            value = outputs.get(key)
            if isinstance(value, str):
                outputs[key] = Secret(value)
        return outputs

    def _fingerprint(self, value: Any) -> Any:
        return fingerprint_secrets(self.rt.cipher, value)

    # --- deployments ---------------------------------------------------------
    def _deployment(self, change: Change) -> str:
        registered = self.rt.plugins.registered(DEPLOYERS, change.provider)
        deployer = registered.obj
        record = self.records.get(change.uid)
        workload_name = change.workload or change.uid.split(":", 1)[1]
        ctx = DeployContext(workload=workload_name, env=self.rt.env)
        if change.action == "delete":
            intent_id = self._journal(
                change.uid, "destroy", DeploymentIntent(provider=change.provider)
            )
            self._call(registered, "destroy", deployer.destroy, ctx)
            self.rt.store.complete_intent(intent_id, delete_uid=change.uid)
            return "destroyed"
        rendered = self.render(workload_name)
        # Enrichment hooks change ``rendered`` in place; their return values are unused.
        self.rt.plugins.broadcast("podium_enrich_deployment", workload=rendered, env=self.rt.env)
        rendered_digest = digest(self._fingerprint(rendered.model_dump()))
        if (
            record is not None
            and record.digest == rendered_digest
            and record.provider == change.provider
            and not change.redeploy  # unchanged, but a refresh found it not running
        ):
            raise Unchanged("rendered workload unchanged")
        releases = self.rt.store.releases(workload_name)
        number = (releases[-1]["number"] + 1) if releases else 1
        ctx = DeployContext(workload=workload_name, env=self.rt.env, release=number)
        intent_id = self._journal(
            change.uid,
            "deploy",
            DeploymentIntent(
                provider=change.provider,
                plugin=change.plugin,
                release=number,
                node_spec=change.spec,
                depends_on=change.depends_on,
                owner=change.owner,
            ),
        )
        try:
            result = self._call(registered, "deploy", deployer.deploy, ctx, rendered)
        except Exception as exc:
            self._record_release(
                workload_name, number, rendered, change.provider, {}, "failed", str(exc)
            )
            # Record the failed deployment: status shows it down, destroy can remove
            # what the deployer left running, and the next plan deploys it again.
            outputs_kept = record.outputs if record is not None else {}
            failed = _deployment_record(change, "", outputs_kept, digest="", failed_release=number)
            self.rt.store.complete_intent(intent_id, record=failed)
            if self.rt.env_config.rollback_on_failure and releases:
                note = self._auto_rollback(change, registered, workload_name, releases, number)
                if note:
                    # The node still fails (exit 6): the deploy's own cause first, then the rollback.
                    raise ResourceError(f"{exc}; {note}") from exc
            raise
        outputs = {**result.outputs, "urls": list(result.urls), "release": number}
        self._record_release(
            workload_name, number, rendered, change.provider, outputs, "deployed", result.message
        )
        record = _deployment_record(
            change,
            change.node().spec_hash,
            self.rt.cipher.seal(outputs),
            digest=rendered_digest,
            # what the next plan diffs against (no secret values: see attribute_diff)
            attributes=self._attributes(workload_name),
        )
        self.rt.store.complete_intent(intent_id, record=record)
        self._set_outputs(change.uid, outputs)
        self._rendered[workload_name] = (rendered, result)
        return f"release {number} deployed" + (f": {result.message}" if result.message else "")

    def _attributes(self, workload_name: str) -> dict[str, Any]:
        workload = self.rt.workloads.get(workload_name)
        return workload_attributes(workload.spec) if workload is not None else {}

    def render(self, workload_name: str) -> Any:
        from podium.workload.render import render_workload

        workload = self.rt.workloads[workload_name]
        resources = {
            name: RenderedResource(
                uid=req.uid,
                type=req.type,
                resource_class=req.resource_class,
                outputs=self.outputs_of(req.uid),
            )
            for name, req in workload.resources.items()
        }
        # The state root (keys, secrets, state) is never a file source, wherever it is.
        private = (self.rt.env.state_dir.parent,)
        rendered = render_workload(workload, resources, private_paths=private)
        if workload.path is not None:
            rendered.extensions.setdefault("podium.source_dir", str(workload.path.parent.resolve()))
        return rendered

    def _record_release(
        self,
        workload: str,
        number: int,
        rendered: Any,
        deployer: str,
        outputs: dict[str, Any],
        status: str,
        note: str,
        platform_secrets: list[dict[str, Any]] | None = None,
    ) -> None:
        if platform_secrets is None:
            platform_secrets = self._platform_secrets(workload)
        release = ReleaseEntry(
            number=number,
            workload=rendered.model_dump(),
            deployer=deployer,
            outputs=outputs,
            status=status,
            note=note,
            run_id=self.run_id,
            secrets=platform_secrets,
        )
        self.rt.store.add_release(workload, self.rt.cipher.seal(release.to_dict()))

    def _platform_secrets(self, workload_name: str) -> list[dict[str, Any]]:
        """The platform secrets (key, version, value) a workload is rendered with."""
        workload = self.rt.workloads.get(workload_name)
        if workload is None:
            return []
        planned = {c.uid: c.spec for c in self.plan.changes}
        specs = {}
        for request in workload.resources.values():
            record = self.records.get(request.uid)
            spec = planned.get(request.uid) or (record.spec if record is not None else None)
            if spec is not None:
                specs[request.uid] = spec
        return secrets_used(specs, self.outputs_of)

    def _auto_rollback(
        self,
        change: Change,
        registered: Any,
        workload: str,
        releases: list[dict[str, Any]],
        failed: int,
    ) -> str:
        """Redeploy the last good release after release ``failed`` failed; say what happened.

        The rollback is a deploy like any other: journaled before the deployer is called,
        recorded as a release, and the deployment record then describes what really runs
        (so ``status`` is right and the next plan deploys the files' version again).
        """
        good = [r for r in releases if r.get("status") == "deployed"]
        if not good:
            return ""
        try:  # never with a secret value rotated since that release
            data, used, rotated = with_current_secrets(
                self.rt.cipher.unseal(good[-1]), self.rt.env.secret_store
            )
        except NotFoundError as exc:
            return f"no automatic rollback: {exc}"
        release = Release.model_validate(data)
        number = failed + 1
        ctx = DeployContext(workload=workload, env=self.rt.env, release=number)
        intent_id = self._journal(
            change.uid,
            "deploy",
            DeploymentIntent(
                provider=release.deployer,
                plugin=change.plugin,
                release=number,
                rollback_to=release.number,
                node_spec=change.spec,
                depends_on=change.depends_on,
                owner=change.owner,
            ),
        )
        try:
            if rotated:  # what the deployer made then holds the old values: deploy anew
                result = self._call(
                    registered, "deploy", registered.obj.deploy, ctx, release.workload
                )
            else:
                result = self._call(registered, "rollback", registered.obj.rollback, ctx, release)
        except Exception as exc:
            self.rt.store.complete_intent(intent_id)
            self.rt.event(
                "rollback.failed", change.uid, f"rollback to release {release.number} failed"
            )
            return f"automatic rollback to release {release.number} failed: {exc}"
        outputs = {**result.outputs, "urls": list(result.urls), "release": number}
        self._record_release(
            workload,
            number,
            release.workload,
            release.deployer,
            outputs,
            "deployed",
            f"automatic rollback to release {release.number} after release {failed} failed",
            used,
        )
        rolled_back = digest(self._fingerprint(release.workload.model_dump()))
        record = _deployment_record(
            change,
            "",  # the files still describe the failed release: the next plan deploys it
            self.rt.cipher.seal(outputs),
            digest=rolled_back,
            rolled_back_to=release.number,
        )
        self.rt.store.complete_intent(intent_id, record=record)
        self.rt.event("rollback.finished", change.uid, f"rolled back to release {release.number}")
        return f"rolled back to release {release.number} (now release {number})"

    # --- observability ---------------------------------------------------------
    def _observability(self, change: Change) -> str:
        workload_name = change.workload or ""
        if change.action == "delete":
            self.rt.store.delete_record(change.uid)
            return "forgotten"
        rendered, result = self._rendered.get(workload_name) or (None, None)
        if rendered is None:
            from podium.deployment.contract import DeploymentResult

            rendered = self.render(workload_name)
            outputs = self.outputs_of(f"deployment:{workload_name}")
            result = DeploymentResult(outputs=outputs, urls=list(outputs.get("urls") or []))
        configs = self.rt.plugins.broadcast(
            "podium_configure_telemetry", workload=rendered, deployment=result, env=self.rt.env
        )
        outputs = {
            r.plugin.name: {
                "provider": r.value.provider,
                "description": r.value.description,
                **r.value.outputs,
            }
            for r in configs
        }
        self.rt.store.put_record(
            ResourceRecord(
                uid=change.uid,
                kind="observability",
                provider=change.provider,
                plugin=change.plugin,
                spec=dict(change.spec),
                spec_hash=change.node().spec_hash,
                outputs=self.rt.cipher.seal(outputs),
                physical_name=workload_name,
                depends_on=list(change.depends_on),
                updated_at=_now(),
                owner=change.owner,
            )
        )
        return (
            ", ".join(f"{k}: {v['description']}" for k, v in outputs.items())
            or "nothing to configure"
        )


def _deployment_record(
    change: Change, spec_hash: str, sealed_outputs: dict[str, Any], **bookkeeping: Any
) -> ResourceRecord:
    """The state record of a deployment node (``bookkeeping``: the record's digest, failed
    release, rolled-back-to release and attributes fields)."""
    return ResourceRecord(
        uid=change.uid,
        kind="deployment",
        provider=change.provider,
        plugin=change.plugin,
        spec=dict(change.spec),
        spec_hash=spec_hash,
        outputs=sealed_outputs,
        physical_name=change.workload or change.uid.split(":", 1)[1],
        depends_on=list(change.depends_on),
        updated_at=_now(),
        owner=change.owner,
        **bookkeeping,
    )


def _record_failure(span: Any, exc: BaseException) -> None:
    """Mark a failed node's span: status ERROR with the error's text and the exception."""
    from opentelemetry.trace import Status, StatusCode

    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, str(exc)))


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TransientError):
        return True
    return bool(getattr(exc, "is_transient", False))


def _as_outputs(registered: Any, operation: str, outputs: Any) -> dict[str, Any]:
    """A provisioner's return value as outputs; anything but a mapping is the plugin's fault."""
    if outputs is None:
        return {}
    if not isinstance(outputs, Mapping) or not all(isinstance(k, str) for k in outputs):
        raise PluginError(
            f"{registered.obj.name}.{operation} returned {type(outputs).__name__}, "
            "not a mapping of output names to values",
            plugin=registered.plugin.name,
            distribution=registered.plugin.distribution,
            version=registered.plugin.version,
        )
    return dict(outputs)


def _with_timeout(func: Callable[[], Any], timeout: float, plugin: Any, what: str) -> Any:
    """Run ``func`` on a helper thread; give up (leaving it to finish) after ``timeout``.

    The error names the plugin with its distribution and version, like any plugin fault.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:
            box["error"] = exc

    # The helper thread runs in a copy of this context: log context and spans follow.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(target,), name="podium-call", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise PluginError(
            f"{what} did not finish within {timeout:g}s (engine.timeout)",
            plugin=plugin.name,
            distribution=plugin.distribution,
            version=plugin.version,
        )
    if "error" in box:
        raise box["error"]
    return box["value"]
