"""Concurrency promises (issue 12 item 2): plan without the lease, waiting for it, cancel, close.

Runs are held at a known point by a gate inside the provisioner's create (the side effect
has started, its intent is journaled): the tests never depend on timing.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from podium.errors import (
    CancelledError,
    ClosedError,
    LockedError,
    StalePlanError,
    StateError,
)
from podium.observability.contract import Event
from podium.platform.contract import LockInfo

THREE_VOLUMES = """\
apiVersion: score.dev/v1b1
metadata:
  name: trio
containers:
  main:
    image: example/trio:1.0
resources:
  aa:
    type: volume
  bb:
    type: volume
  cc:
    type: volume
"""

#: a bound against a hung test on a stuck machine, never a timing assertion
PATIENCE = 120.0


class Gate:
    """Holds every create of the fake provisioner until :meth:`open` (after telling :attr:`entered`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fake_plugin: Any) -> None:
        self.entered = threading.Event()
        self._open = threading.Event()
        create = fake_plugin.DirProvisioner.create

        def gated(provisioner: Any, ctx: Any) -> Any:
            self.entered.set()
            assert self._open.wait(PATIENCE), "the test never opened the gate"
            return create(provisioner, ctx)

        monkeypatch.setattr(fake_plugin.DirProvisioner, "create", gated)

    def wait_entered(self) -> None:
        assert self.entered.wait(PATIENCE), "no create started"

    def open(self) -> None:
        self._open.set()


class Background:
    """Runs ``func`` in a thread and hands back its return value or exception."""

    def __init__(self, func: Callable[[], Any]) -> None:
        self._outcome: list[tuple[bool, Any]] = []

        def target() -> None:
            try:
                self._outcome.append((True, func()))
            except BaseException as exc:  # handed to the test thread by result()
                self._outcome.append((False, exc))

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def result(self) -> Any:
        self.thread.join(PATIENCE)
        assert not self.thread.is_alive(), "the background run did not finish"
        ok, value = self._outcome[0]
        if not ok:
            raise value
        return value


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch, fake_plugin: Any) -> Gate:
    return Gate(monkeypatch, fake_plugin)


@pytest.fixture
def trio(tmp_path: Path) -> Path:
    path = tmp_path / "trio.score.yaml"
    path.write_text(THREE_VOLUMES)
    return path


def waiting_for_lock(platform: Any) -> threading.Event:
    seen = threading.Event()

    def watch(event: Event) -> None:
        if event.kind == "lock.waiting":
            seen.set()

    platform.subscribe(watch)
    return seen


def assert_clean(platform: Any, env: str = "dev") -> None:
    """No pending intent, no lock, no history entry left ``running``."""
    store = platform.store(env)
    assert store.pending_intents() == []
    assert store.lock_info() is None
    assert all(entry["status"] != "running" for entry in platform.history(env))


# ---------------------------------------------------------------- plan without the lease
def test_plan_during_another_threads_apply_reports_the_changes_in_flight(
    make_platform: Any, score: Path, gate: Gate
) -> None:
    platform = make_platform()
    applying = Background(lambda: platform.up("dev", [score])[1])
    gate.wait_entered()  # the apply holds the lease, its create's intent is pending
    plans = [platform.plan("dev", [score]) for _ in range(30)]
    for plan in plans:
        assert any("in flight under the lease held by" in w for w in plan.warnings), plan.warnings
    gate.open()
    assert applying.result().ok
    # A plan made mid-flight shows state from before the run recorded its changes: stale now.
    with pytest.raises(StalePlanError):
        platform.apply(plans[-1])
    assert not platform.plan("dev", [score]).has_changes
    assert_clean(platform)


def test_plan_never_fails_while_other_threads_apply_and_destroy(
    make_platform: Any, score: Path
) -> None:
    platform = make_platform()
    plans = 0
    for trial in range(30):
        other = Background(
            (lambda: platform.destroy("dev"))
            if trial % 2
            else (lambda: platform.up("dev", [score]))
        )
        while True:
            platform.plan("dev", [score])  # raised LockedError 95 times in 97 before
            plans += 1
            if not other.thread.is_alive():
                break
        assert other.result()[1].ok
    assert plans >= 30
    assert_clean(platform)


# ---------------------------------------------------------------- waiting for the lease
def plant_lock(platform: Any, owner: str = "someone@elsewhere") -> LockInfo:
    now = time.time()
    held = LockInfo(owner, "elsewhere", 1, uuid.uuid4().hex, now, now + 3600, "apply")
    platform.store("dev").acquire_lock(held)
    return held


def test_apply_fails_at_once_by_default_and_says_how_to_wait(
    make_platform: Any, score: Path
) -> None:
    platform = make_platform()
    plan = platform.plan("dev", [score])
    plant_lock(platform)
    with pytest.raises(LockedError) as refused:
        platform.apply(plan)
    assert "someone@elsewhere" in str(refused.value)
    assert "--lock-timeout" in str(refused.value)
    with pytest.raises(LockedError) as waited:
        platform.apply(plan, lock_timeout=0.05)
    assert "waited" in str(waited.value) and "--lock-timeout" in str(waited.value)
    assert platform.history("dev") == []


def test_apply_with_lock_timeout_waits_for_the_lease_then_runs(
    make_platform: Any, score: Path
) -> None:
    platform = make_platform()
    plan = platform.plan("dev", [score])
    held = plant_lock(platform)
    waiting = waiting_for_lock(platform)
    applying = Background(lambda: platform.apply(plan, lock_timeout=PATIENCE))
    assert waiting.wait(PATIENCE), "apply did not wait for the lease"
    assert applying.thread.is_alive()
    platform.store("dev").release_lock(held.run_id)
    assert applying.result().ok
    assert_clean(platform)


def test_up_with_lock_timeout_waits_for_another_threads_apply(
    make_platform: Any, score: Path, trio: Path, gate: Gate
) -> None:
    platform = make_platform()
    first = Background(lambda: platform.up("dev", [score])[1])
    gate.wait_entered()
    waiting = waiting_for_lock(platform)
    second = Background(lambda: platform.up("dev", [trio], lock_timeout=PATIENCE))
    assert waiting.wait(PATIENCE), "up did not wait for the lease"
    gate.open()
    assert first.result().ok
    plan, result = second.result()
    # It planned after the first run finished: no in-flight warning, nothing stale.
    assert not any("in flight" in w for w in plan.warnings)
    assert result.ok, result.to_dict()
    assert not platform.plan("dev", [score, trio]).has_changes
    assert_clean(platform)


def test_cancel_ends_a_wait_for_the_lease(make_platform: Any, score: Path) -> None:
    platform = make_platform()
    plan = platform.plan("dev", [score])
    plant_lock(platform)
    waiting = waiting_for_lock(platform)
    applying = Background(lambda: platform.apply(plan, lock_timeout=PATIENCE))
    assert waiting.wait(PATIENCE)
    assert platform.cancel() == 1
    with pytest.raises(CancelledError):
        applying.result()
    assert platform.history("dev") == []  # the run never began


# ---------------------------------------------------------------- cancel and close
def check_cancelled_run(result: Any) -> None:
    statuses = {r.uid: r.status for r in result.results}
    assert result.cancelled and not result.ok
    assert list(statuses.values()).count("succeeded") == 1, statuses  # the one in flight
    assert statuses["deployment:trio"] == "skipped"
    skipped = [r for r in result.results if r.status == "skipped"]
    assert skipped and all("cancelled" in r.message for r in skipped)
    with pytest.raises(CancelledError):
        result.raise_for_failures()


def check_finishes_later(platform: Any, trio: Path) -> None:
    """The change that ran is recorded; the next run does the rest and converges."""
    plan = platform.plan("dev", [trio])
    assert plan.counts["create"] == 3  # two volumes and the deployment
    assert platform.apply(plan).ok
    assert not platform.plan("dev", [trio]).has_changes


def test_cancel_lets_running_changes_finish_and_records_the_run_cancelled(
    make_platform: Any, trio: Path, gate: Gate
) -> None:
    platform = make_platform()
    # One change at a time: the next create is journaled while the first runs.
    applying = Background(lambda: platform.up("dev", [trio], parallelism=1)[1])
    gate.wait_entered()
    assert platform.cancel() == 1
    gate.open()
    result = applying.result()
    check_cancelled_run(result)
    assert_clean(platform)
    assert platform.history("dev")[0]["status"] == "cancelled"
    check_finishes_later(platform, trio)


def test_close_during_an_apply_cancels_it_and_waits_for_it(
    make_platform: Any, trio: Path, gate: Gate
) -> None:
    platform = make_platform()
    applying = Background(lambda: platform.up("dev", [trio], parallelism=1)[1])
    gate.wait_entered()
    closing = Background(platform.close)
    # Opened only once close() has cancelled the run (the runs registry says so).
    deadline = time.monotonic() + PATIENCE
    while not platform._runs.closing:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert closing.thread.is_alive(), "close() returned while the apply was still running"
    gate.open()
    closing.result()
    check_cancelled_run(applying.result())
    reopened = make_platform()
    assert_clean(reopened)
    assert reopened.history("dev")[0]["status"] == "cancelled"
    check_finishes_later(reopened, trio)


def test_use_after_close_raises_closed_error(make_platform: Any, score: Path) -> None:
    platform = make_platform()
    plan = platform.plan("dev", [score])
    platform.close()
    platform.close()  # closing twice is fine
    calls: list[Callable[[], Any]] = [
        lambda: platform.plan("dev", [score]),
        lambda: platform.apply(plan),
        lambda: platform.up("dev", [score]),
        lambda: platform.destroy("dev"),
        lambda: platform.history("dev"),
        lambda: platform.store("dev"),
        lambda: platform.validate("dev", [score]),
        lambda: platform.rollback("dev", "web"),
    ]
    for call in calls:
        with pytest.raises(ClosedError) as closed:
            call()
        assert isinstance(closed.value, StateError)  # what embedders caught before
        assert "closed" in str(closed.value)


def test_close_from_an_event_callback_closes_when_the_run_ends(
    make_platform: Any, score: Path
) -> None:
    platform = make_platform()

    def close_on_first_node(event: Event) -> None:
        if event.kind == "node.started":
            platform.close()

    platform.subscribe(close_on_first_node)
    _, result = platform.up("dev", [score])
    assert result.cancelled or result.ok
    with pytest.raises(ClosedError):
        platform.history("dev")
    reopened = make_platform()
    assert_clean(reopened)


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    leaked = [t for t in set(threading.enumerate()) - before if t.name.startswith("podium-lease")]
    assert not leaked, leaked
