"""The apply scheduler: a :class:`graphlib.TopologicalSorter` over a plan's changes.

A change starts when every change it depends on has succeeded and is recorded; a
failed change skips its dependents (transitively) while independent work goes on.
Deletes run in reverse dependency order. At most ``parallelism`` changes run at once,
and at most ``engine.per_plugin[plugin]`` (or the registration's ``max_parallel``)
per plugin.

Journaling: each round of the scheduler writes one transaction
(:meth:`~podium.engine.journal.Journal.round`) holding the outcomes of the resource
changes that just finished and the intents of those their completion lets start
(resolved here, from the finished changes' outputs). Only after that commit do the
new changes run, so every intent is durable before its side effect and every outcome
before its dependents start, at one commit per round instead of two per node. Other
changes (deploys, replaces) journal their own intents on the worker, through the same
journal.

Changes run on the apply's own worker threads (:class:`_Workers`), which take them
from one queue: up to one change per worker waits there beyond those running, so a
worker that finishes starts the next at once; each checks for a stop and the lease
before it starts a change.

Cancellation (``stop``) starts nothing new: the changes running finish and are
recorded, intents journaled for changes that will not start are closed, the rest is
skipped. A lost lease skips what has not started.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import TYPE_CHECKING, Any

from podium.engine.handlers import Handlers, Unchanged
from podium.engine.journal import Prepared
from podium.errors import PodiumError, StateError
from podium.plugins.kinds import DEPLOYERS, PROVISIONERS

if TYPE_CHECKING:
    from podium.engine.apply import NodeResult
    from podium.engine.node_run import NodeRunner
    from podium.engine.plan import Change
    from podium.engine.runtime import LeaseLock


def execution_deps(work: dict[str, Change]) -> dict[str, set[str]]:
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


class Scheduler:
    """Runs the changes of one plan (in plan order of results) through ``runner``."""

    def __init__(
        self,
        changes: list[Change],
        runner: NodeRunner,
        parallelism: int,
        lease: LeaseLock | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.changes = changes
        self.runner = runner
        self.handlers: Handlers = runner.handlers
        self.rt = self.handlers.run.rt
        self.journal = self.handlers.run.journal
        self.parallelism = max(1, parallelism)
        #: checked before each change starts: a lost lease starts nothing more
        self.lease = lease
        #: set by Platform.cancel()/close(): start nothing new, let running changes finish
        self.stop = stop
        #: whether the stop skipped any change (the run is then recorded as cancelled)
        self.cancelled = False

    def run(self) -> list[NodeResult]:
        """Apply every change; returns one result per change, in plan order."""
        from podium.engine.apply import NodeResult

        work = {c.uid: c for c in self.changes if c.action != "no-op"}
        deps = execution_deps(work)
        dependents: dict[str, list[str]] = {uid: [] for uid in work}
        for uid, needs in deps.items():
            for need in needs:
                dependents[need].append(uid)
        order = TopologicalSorter(deps)
        order.prepare()
        ready = sorted(order.get_ready())
        results: dict[str, NodeResult] = {}
        per_plugin: dict[str, int] = {}  # handed to the workers, not yet reported back
        outstanding = 0
        started: set[str] = set()  # handed to a worker or finished in this thread
        workers = _Workers(
            min(self.parallelism, max(1, len(work))), self.runner.run, self._may_start
        )

        def release(uid: str) -> None:
            order.done(uid)
            ready.extend(child for child in order.get_ready() if child not in results)

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

        def submit(change: Change, prepared: Prepared | None) -> None:
            nonlocal outstanding
            per_plugin[change.plugin] = per_plugin.get(change.plugin, 0) + 1
            outstanding += 1
            # Each task runs in a copy of this thread's context, so its spans and log
            # context nest under the apply that started it.
            workers.put(change, prepared, contextvars.copy_context())

        outcomes: list[NodeResult] = []  # finished, their records not yet durable
        # Changes whose dependencies are durable (and, for journaled ones, whose intent
        # is too), waiting to be handed to the workers.
        startable: deque[Prepared | Change] = deque()
        # Up to one change per worker waits in the workers' queue beyond those running,
        # so a worker that finishes starts the next change at once, without waiting for
        # this thread (the workers check the lease and a stop again before starting it).
        handed_limit = 2 * workers.count

        def fill() -> None:
            held: list[Prepared | Change] = []
            while startable and outstanding < handed_limit:
                item = startable.popleft()
                change = item.change if isinstance(item, Prepared) else item
                if change.uid in results:  # skipped meanwhile
                    continue
                if self.lease is not None and not self.lease.still_held():
                    lease_lost(change)
                    continue
                limit = self._plugin_limit(change)
                if limit is not None and per_plugin.get(change.plugin, 0) >= limit:
                    held.append(item)
                    continue
                submit(change, item if isinstance(item, Prepared) else None)
            startable.extendleft(reversed(held))

        def lease_lost(change: Change) -> None:
            lost = self.lease.lost if self.lease is not None else "unknown"
            reason = f"state lock lost: {lost}"
            results[change.uid] = NodeResult(change.uid, change.action, "skipped", reason)

        def cancel_unstarted() -> None:
            # Intents journaled for changes that will not start are closed now: nothing
            # happened, so no pending intent is left for the next run to reconcile.
            never_run = [i.intent_id for i in startable if isinstance(i, Prepared)]
            unstarted = [i.change if isinstance(i, Prepared) else i for i in startable]
            unstarted += [work[uid] for uid in ready]
            startable.clear()
            ready.clear()
            for change in unstarted:
                if change.uid not in results:
                    self._skip_cancelled(change, results)
            self.journal.abandon(never_run)

        def not_started(report: _Report) -> None:
            """A change the workers did not start: the run stopped, or the lease is lost."""
            change = report.change
            if self.stop is not None and self.stop.is_set():
                if isinstance(report.prepared, Prepared):
                    self.journal.abandon([report.prepared.intent_id])
                self._skip_cancelled(change, results)
                return
            lease_lost(change)

        try:
            lookahead = 2 * self.parallelism
            while True:
                if self.stop is not None and self.stop.is_set():
                    cancel_unstarted()
                fill()
                to_journal: list[Prepared] = []
                plain: list[Change] = []  # not journaled here: they start after the commit
                while ready and outstanding + len(startable) + len(to_journal) + len(plain) < (
                    lookahead
                ):
                    uid = ready.pop(0)
                    if uid in results or uid in started:  # skipped meanwhile
                        continue
                    started.add(uid)
                    change = work[uid]
                    if not self.handlers.journaled_in_rounds(change):
                        plain.append(change)
                        continue
                    try:
                        to_journal.append(self.handlers.resources.prepare(change))
                    except Unchanged as exc:
                        self.rt.event("node.succeeded", uid, str(exc), action=change.action)
                        finish(uid, NodeResult(uid, change.action, "unchanged", str(exc)))
                    except Exception as exc:
                        finish(uid, self.runner.failed(change, exc))
                if outcomes or to_journal:
                    completions = [r.completion for r in outcomes if r.completion is not None]
                    committed = self.journal.round(completions, to_journal)
                    for result in outcomes:
                        if committed:
                            assert result.completion is not None
                            self.handlers.resources.completed(result.uid, result.completion)
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
                            finish(item.change.uid, self.runner.failed(item.change, error))
                    outcomes = []
                startable.extend(plain)  # after the commit: their dependencies are durable now
                fill()
                if not outstanding:
                    if startable or ready or outcomes:
                        continue
                    break
                reports = workers.reports()
                for report in reports:
                    change = report.change
                    outstanding -= 1
                    per_plugin[change.plugin] -= 1
                    if report.error is not None:
                        raise report.error
                    done = report.result
                    if done is None:
                        not_started(report)
                    elif done.status == "succeeded" and done.completion is not None:
                        # Dependents may be resolved from these outputs now; they start
                        # only after the commit that records this outcome.
                        if done.completion.outputs is not None:
                            self.handlers.run.set_outputs(change.uid, done.completion.outputs)
                        outcomes.append(done)
                        release(change.uid)
                    else:
                        finish(change.uid, done)
        finally:
            workers.close()
        if self.stop is not None and self.stop.is_set():
            for uid, change in work.items():  # what waited on a dependency never ran
                if uid not in results:
                    self._skip_cancelled(change, results)
        return [results[c.uid] for c in self.changes if c.uid in results]

    def _may_start(self) -> bool:
        """Checked by a worker before it starts a change: no stop, and the lease held."""
        if self.stop is not None and self.stop.is_set():
            return False
        return self.lease is None or self.lease.still_held()

    def _skip_cancelled(self, change: Change, results: dict[str, NodeResult]) -> None:
        from podium.engine.apply import NodeResult

        self.cancelled = True
        message = "cancelled before it started"
        results[change.uid] = NodeResult(change.uid, change.action, "skipped", message)
        self.rt.event("node.skipped", change.uid, message, action=change.action)

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


@dataclass(slots=True)
class _Report:
    """What a worker hands back: the change, and its result (``None``: not started) or
    the exception that escaped the runner."""

    change: Change
    prepared: Prepared | None
    result: NodeResult | None
    error: BaseException | None = None


class _Workers:
    """The apply's worker threads: they take changes from one queue and report to another.

    Lighter than a ThreadPoolExecutor (no future, condition or callback per change), and
    a worker that finishes takes the next queued change itself instead of waiting for
    the scheduler's thread to hand it one. ``may_start`` is asked before each change
    starts; when it says no, the change is reported back unstarted.
    """

    def __init__(
        self,
        count: int,
        run_change: Callable[[Change, Prepared | None], NodeResult],
        may_start: Callable[[], bool],
    ) -> None:
        self.count = count
        self._run_change = run_change
        self._may_start = may_start
        self._tasks: queue.SimpleQueue[
            tuple[Change, Prepared | None, contextvars.Context] | None
        ] = queue.SimpleQueue()
        self._reports: queue.SimpleQueue[_Report] = queue.SimpleQueue()
        #: set when the scheduler leaves early (an exception): queued changes never start
        self._halt = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"podium-apply_{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, change: Change, prepared: Prepared | None, ctx: contextvars.Context) -> None:
        self._tasks.put((change, prepared, ctx))

    def reports(self) -> list[_Report]:
        """At least one report (waits for it), and every other one already there."""
        found = [self._reports.get()]
        while not self._reports.empty():
            found.append(self._reports.get())
        return found

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            change, prepared, ctx = task
            # Whatever happens, a report goes back: the scheduler waits for one per change.
            try:
                if self._halt.is_set() or not self._may_start():
                    report = _Report(change, prepared, None)
                else:
                    report = _Report(change, prepared, ctx.run(self._run_change, change, prepared))
            except BaseException as exc:  # handed to the scheduler's thread, raised there
                report = _Report(change, prepared, None, exc)
            self._reports.put(report)

    def close(self) -> None:
        """Start nothing more, let running changes finish, and end the threads."""
        self._halt.set()
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join()
