"""The scheduler's worker threads: every change handed to them is reported back once.

The scheduler waits for one report per change it hands over, so a change the workers
may not start (a stop, a lost lease), a runner that raises, or a close while changes
wait must each still be reported (or, after close, never started). The engine's
behaviour built on this (cancel, fencing, per-plugin limits) is tested end to end in
tests/embedding and tests/e2e/torture.
"""

from __future__ import annotations

import contextvars
import threading
from types import SimpleNamespace
from typing import Any

from podium.engine.scheduler import _Workers


def change(uid: str) -> Any:
    return SimpleNamespace(uid=uid, plugin="fake")


def test_each_change_is_reported_once_with_its_result() -> None:
    ran: list[str] = []
    workers = _Workers(3, lambda c, _p: ran.append(c.uid) or f"done {c.uid}", lambda: True)
    try:
        for n in range(10):
            workers.put(change(f"n{n}"), None, contextvars.copy_context())
        reports: list[Any] = []
        while len(reports) < 10:
            reports += workers.reports()
    finally:
        workers.close()
    assert sorted(r.change.uid for r in reports) == sorted(f"n{n}" for n in range(10))
    assert all(r.result == f"done {r.change.uid}" and r.error is None for r in reports)
    assert sorted(ran) == sorted(f"n{n}" for n in range(10))


def test_a_change_that_may_not_start_is_reported_unstarted() -> None:
    ran: list[str] = []
    workers = _Workers(2, lambda c, _p: ran.append(c.uid), lambda: False)
    try:
        workers.put(change("a"), "intent", contextvars.copy_context())
        [report] = workers.reports()
    finally:
        workers.close()
    assert report.result is None and report.error is None and report.prepared == "intent"
    assert ran == []


def test_what_escapes_the_runner_is_reported_as_its_error() -> None:
    def explode(_c: Any, _p: Any) -> Any:
        raise RuntimeError("boom")

    asked = {"n": 0}

    def may_start() -> bool:
        asked["n"] += 1
        if asked["n"] == 2:
            raise ValueError("the lease check failed")
        return True

    workers = _Workers(1, explode, may_start)
    try:
        workers.put(change("a"), None, contextvars.copy_context())
        workers.put(change("b"), None, contextvars.copy_context())
        reports = workers.reports()
        while len(reports) < 2:
            reports += workers.reports()
    finally:
        workers.close()
    errors = {r.change.uid: r.error for r in reports}
    assert isinstance(errors["a"], RuntimeError) and isinstance(errors["b"], ValueError)


def test_close_lets_the_running_change_finish_and_starts_no_queued_one() -> None:
    entered, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def run(c: Any, _p: Any) -> str:
        ran.append(c.uid)
        entered.set()
        release.wait(10)
        return "done"

    workers = _Workers(1, run, lambda: True)
    workers.put(change("running"), None, contextvars.copy_context())
    workers.put(change("queued"), None, contextvars.copy_context())
    assert entered.wait(10)
    closing = threading.Thread(target=workers.close)
    closing.start()
    release.set()
    closing.join(10)
    assert not closing.is_alive()
    assert ran == ["running"]


def test_a_change_runs_in_the_context_it_was_handed_with() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    workers = _Workers(1, lambda _c, _p: var.get(), lambda: True)
    try:
        var.set("the apply's")
        workers.put(change("a"), None, contextvars.copy_context())
        var.set("changed after")
        [report] = workers.reports()
    finally:
        workers.close()
    assert report.result == "the apply's"
