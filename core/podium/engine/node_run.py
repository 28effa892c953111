"""Running one change on a worker: its span, its events, retries of transient failures.

A failed node's span ends with status ERROR and the exception recorded; a transient
failure is retried with tenacity (delays doubling from ``engine.retry_backoff`` plus
jitter, capped at ``engine.retry_max_delay``, ``engine.retries`` times at most).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from podium.engine.calls import is_transient
from podium.engine.handlers import Handlers, Unchanged
from podium.errors import PodiumError, ResourceError

if TYPE_CHECKING:
    import tenacity

    from podium.engine.apply import NodeResult, NodeStatus
    from podium.engine.journal import Completion, Prepared
    from podium.engine.plan import Change
    from podium.engine.runtime import LeaseLock


class NodeRunner:
    """Runs changes through their handlers (any thread)."""

    def __init__(
        self,
        handlers: Handlers,
        stop: threading.Event | None = None,
        lease: LeaseLock | None = None,
    ) -> None:
        self.handlers = handlers
        self.rt = handlers.run.rt
        self.stop = stop
        #: the run's lease: the place to check it before each attempt (retries included)
        self.lease = lease
        self._plugin_infos: dict[str, Any] = {}

    def run(self, change: Change, prepared: Prepared | None = None) -> NodeResult:
        """Run ``change`` (its intent already journaled when ``prepared``); never raises."""
        from podium.engine.apply import NodeResult

        started = time.perf_counter()
        self.rt.event(
            "node.started", change.uid, f"{change.action} {change.uid}", action=change.action
        )
        completion: Completion | None = None
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
                    return self.handlers.for_change(change)(change), "succeeded"
                message, completion = self.handlers.resources.perform(prepared)
                return message, "succeeded"
            except Unchanged as exc:
                return str(exc), "unchanged"

        attempts = 1
        try:
            try:
                message, status = attempt()
            except Exception as first:
                if not (self.rt.engine.retries and is_transient(first)):
                    raise
                outcome, attempts = self._retry(change, attempt, first)
                if isinstance(outcome, BaseException):
                    raise outcome from None
                message, status = outcome
        except Exception as exc:
            if span is not None:
                record_failure(span, exc)
            return self.failed(change, exc, attempts, time.perf_counter() - started)
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

    def failed(
        self, change: Change, exc: BaseException, attempts: int = 0, seconds: float = 0.0
    ) -> NodeResult:
        """The result of a failed change (its ``node.failed`` event sent)."""
        from podium.engine.apply import NodeResult

        error = (
            exc if isinstance(exc, PodiumError) else ResourceError(f"{type(exc).__name__}: {exc}")
        )
        self.rt.event("node.failed", change.uid, str(error), action=change.action)
        return NodeResult(change.uid, change.action, "failed", str(error), attempts, seconds, error)

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
            if self.lease is not None:
                self.lease.check()  # a run that lost its lease retries nothing
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
            retry=tenacity.retry_if_exception(is_transient),
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


def record_failure(span: Any, exc: BaseException) -> None:
    """Mark a failed node's span: status ERROR with the error's text and the exception."""
    from opentelemetry.trace import Status, StatusCode

    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, str(exc)))
