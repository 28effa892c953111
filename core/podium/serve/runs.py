"""Runs: changes the API accepted, executed in the background, one per environment at a time.

A run outlives the request that started it (a client may disconnect and read it
later). Runs of one environment queue in this process behind each other and, across
processes, behind the state lease, for at most ``[serve] queue_timeout`` seconds in
all; then the run ends ``error`` with the lease holder named. Events of the
environment's run are kept for the run's Server-Sent Events stream. Stopping the
server cancels running changes through :meth:`~podium.api.Platform.cancel` (changes
already started finish and are journaled, the lease is released, history records the
run ``cancelled``) and ends queued runs ``cancelled``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podium.errors import PodiumError
from podium.serve.liveness import GONE, server_gone
from podium.serve.store import RunRow, ServerStore, now

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.observability.contract import Event
    from podium.serve.identity import Identity

#: how many events one run keeps for late readers of its stream
_MAX_EVENTS = 5000
#: finished runs whose events stay readable here (the console's run page shows them)
_FINISHED_KEPT = 64

#: what a run does once it holds the environment in this process: given the seconds
#: left to wait for the state lease, it returns the run's detail (counts, ids...)
Work = Callable[[float], dict[str, Any]]


@dataclass
class ActiveRun:
    row: RunRow
    events: list[dict[str, Any]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, event: dict[str, Any]) -> None:
        with self.changed:
            if len(self.events) < _MAX_EVENTS or event.get("kind") == "run.finished":
                self.events.append(event)
            self.changed.notify_all()


class RunManager:
    def __init__(
        self, platform: Platform, store: ServerStore, queue_timeout: float, server: str
    ) -> None:
        self.platform = platform
        self.store = store
        self.queue_timeout = queue_timeout
        #: this server's identity (:func:`podium.serve.liveness.server_identity`)
        self.server = server
        self._lock = threading.Lock()
        self._env_locks: dict[str, threading.Lock] = {}
        self._holding: dict[str, ActiveRun] = {}  # environment -> the run executing there
        self._active: dict[str, ActiveRun] = {}  # run id -> run not yet finished
        self._finished: OrderedDict[str, ActiveRun] = OrderedDict()  # the latest ones
        self._threads: set[threading.Thread] = set()
        self._stopping = threading.Event()
        self._subscription = platform.subscribe(self._on_event)

    # -------------------------------------------------------------- starting
    def new_row(
        self, operation: str, env: str, who: Identity, plan_id: str | None = None
    ) -> RunRow:
        return RunRow(
            id=uuid.uuid4().hex,
            environment=env,
            operation=operation,
            plan_id=plan_id,
            team=who.team,
            who=who.subject,
            status="queued",
            created_at=now(),
            server=self.server,
        )

    def start(self, row: RunRow, who: Identity, work: Work) -> ActiveRun:
        """Execute ``work`` for the stored ``row`` in the background."""
        run = ActiveRun(row)
        with self._lock:
            if self._stopping.is_set():
                self._finish(run, "cancelled", {"error": "the server is shutting down"})
                return run
            self._active[row.id] = run
            thread = threading.Thread(
                target=self._execute, args=(run, who, work), name=f"podium-run-{row.id[:8]}"
            )
            self._threads.add(thread)
        thread.start()
        return run

    def _env_lock(self, env: str) -> threading.Lock:
        with self._lock:
            return self._env_locks.setdefault(env, threading.Lock())

    def _execute(self, run: ActiveRun, who: Identity, work: Work) -> None:
        env = run.row.environment
        deadline = time.monotonic() + self.queue_timeout
        lock = self._env_lock(env)
        try:
            if not lock.acquire(timeout=self.queue_timeout):
                self._finish(
                    run,
                    "error",
                    {"error": f"waited {self.queue_timeout:g}s for the runs queued before it"},
                )
                return
            try:
                if self._stopping.is_set():
                    self._finish(run, "cancelled", {"error": "the server is shutting down"})
                    return
                with self._lock:
                    self._holding[env] = run
                self._set_status(run, "running")
                with self.platform.acting_as(who.subject):
                    detail = work(max(0.1, deadline - time.monotonic()))
                self._finish(run, str(detail.pop("status", "succeeded")), detail)
            finally:
                with self._lock:
                    self._holding.pop(env, None)
                lock.release()
        except PodiumError as exc:
            status = "cancelled" if exc.__class__.__name__ == "CancelledError" else "error"
            status = "blocked" if _is_refusal(exc) else status
            self._finish(run, status, {"error": exc.message, "hint": exc.hint or ""})
        except Exception as exc:  # a bug must end the run, not leave it running forever
            self._finish(run, "error", {"error": f"{exc.__class__.__name__}: {exc}"})
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _set_status(self, run: ActiveRun, status: str) -> None:
        run.row.status = status
        self.store.update_run(run.row)
        run.add({"kind": "run.status", "status": status, "run": run.row.id})

    def _finish(self, run: ActiveRun, status: str, detail: dict[str, Any]) -> None:
        run.row.status = status
        run.row.finished_at = now()
        run.row.engine_run_id = detail.pop("engine_run_id", run.row.engine_run_id)
        run.row.history_id = detail.pop("history_id", run.row.history_id)
        run.row.detail = detail
        if run.row.history_id is None and status in ("error", "cancelled"):
            self._record_unstarted(run.row)
        self.store.update_run(run.row)
        run.add({"kind": "run.finished", "status": status, "run": run.row.id, **detail})
        with self._lock:
            self._active.pop(run.row.id, None)
            self._finished[run.row.id] = run
            while len(self._finished) > _FINISHED_KEPT:
                self._finished.popitem(last=False)

    def _record_unstarted(self, row: RunRow) -> None:
        """History gets every run: one that ended before the engine recorded it (a queue
        timeout, a shutdown while queued) is recorded here with why."""
        from podium.engine.audit import record_in

        try:
            with self.platform.acting_as(row.who):
                record_in(
                    self.platform,
                    [row.environment],
                    f"serve {row.operation}",
                    kind="run",
                    status=status_word(row.status),
                    summary=f"run {row.id}: {row.detail.get('error', row.status)}",
                    serve_run=row.id,
                )
        except PodiumError:  # closed or unreachable state: the run row still says it
            pass

    # ---------------------------------------------------------------- events
    def _on_event(self, event: Event) -> None:
        if event.environment is None or str(event.kind).startswith(("plan.", "policy.")):
            return  # plans run concurrently with runs and are not part of them
        with self._lock:
            run = self._holding.get(event.environment)
        if run is not None:
            run.add(event.to_dict())

    def active(self, run_id: str) -> ActiveRun | None:
        with self._lock:
            return self._active.get(run_id)

    def events(self, run_id: str) -> list[dict[str, Any]]:
        """The events of a running or recently finished run of this server (else none)."""
        with self._lock:
            run = self._active.get(run_id) or self._finished.get(run_id)
        if run is None:
            return []
        with run.changed:
            return list(run.events)

    # -------------------------------------------------------------- stopping
    def begin_shutdown(self) -> None:
        """Accept no new run, cancel the running ones (safe from a signal handler)."""
        self._stopping.set()
        self.platform.cancel()

    def shutdown(self, timeout: float = 60.0) -> None:
        """Cancel what runs, end what waits, and wait for the threads to finish."""
        self.begin_shutdown()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                threads = list(self._threads)
            if not threads or time.monotonic() > deadline:
                break
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._subscription.cancel()

    def settle_orphans(self) -> int:
        """Runs of a server process that is gone from this machine (killed, crashed: its
        pid says so) are recorded ``aborted`` at once; a server elsewhere is found dead
        by its heartbeat (:mod:`podium.serve.liveness`). Their engine runs are settled by
        the environment's next run, as for any dead process. Runs of live servers are
        theirs."""
        gone = {
            row.server
            for row in self.store.unfinished_runs()
            if server_gone(row.server, self.server)
        }
        return sum(self.store.retire_server(server, GONE) for server in gone)


def status_word(status: str) -> str:
    """The history status of a run that never started: ``failed`` or ``cancelled``."""
    return "cancelled" if status == "cancelled" else "failed"


def _is_refusal(exc: Exception) -> bool:
    from podium.engine.audit import REFUSALS

    return isinstance(exc, REFUSALS)
