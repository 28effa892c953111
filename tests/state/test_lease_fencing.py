"""The run's side of fencing: LeaseLock's epoch, its fenced store, and when it knows it lost.

Elapsed time is simulated by moving the lease's last confirmation back, never slept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podium.engine.runtime import LeaseLock
from podium.errors import LeaseLostError, StateError
from podium.platform.contract import ResourceRecord
from podium.state import SqliteStateStore


@pytest.fixture
def store(tmp_path: Path) -> Any:
    opened = SqliteStateStore(tmp_path / "state.db", where="shop/dev")
    yield opened
    opened.close()


def record(uid: str) -> ResourceRecord:
    return ResourceRecord(uid=uid, kind="resource", provider="p", plugin="p", spec={}, spec_hash="")


def test_a_lease_writes_through_its_epoch_and_learns_when_it_is_fenced_out(
    store: SqliteStateStore,
) -> None:
    first = LeaseLock(store, 600, "apply", "alice")
    with first:
        assert first.epoch >= 1 and first.still_held()
        first.fenced.put_record(record("resource:a"))
        store.force_unlock()  # someone removes the lock under the live run
        second = LeaseLock(store, 600, "apply", "bob")
        with second:
            assert second.epoch > first.epoch
            with pytest.raises(LeaseLostError, match="taken over or removed"):
                first.fenced.put_record(record("resource:late"))
            # The refused write told the lease: it starts nothing more.
            assert not first.still_held()
            with pytest.raises(LeaseLostError):
                first.check()
            second.fenced.put_record(record("resource:b"))
    assert sorted(r.uid for r in store.records()) == ["resource:a", "resource:b"]


def test_a_resumed_run_checks_its_lease_before_acting(store: SqliteStateStore) -> None:
    paused = LeaseLock(store, 30, "apply", "alice")
    with paused:
        # Paused past its TTL (its renewals too) while another run took the lease.
        store.force_unlock()
        with LeaseLock(store, 600, "destroy", "bob"):
            assert paused.lost is None  # nothing told it yet...
            paused._confirmed -= 31  # ... but its last confirmation is older than its TTL
            assert not paused.still_held()  # so it renews first, and learns it lost
            error = paused.lost_error([])
            assert "lost its lease" in str(error) and "lost its lock" in str(error)


class _Unreachable(SqliteStateStore):
    """The state server restarts: renewals fail with a plain StateError for a while."""

    down = False

    def renew_lock(self, run_id: str, expires_at: float) -> None:
        if self.down:
            raise StateError("the PostgreSQL server is unreachable")
        super().renew_lock(run_id, expires_at)


def test_a_renewal_the_state_does_not_answer_is_not_a_lost_lease_until_it_expires(
    tmp_path: Path,
) -> None:
    store = _Unreachable(tmp_path / "state.db")
    try:
        lease = LeaseLock(store, 30, "apply", "alice")
        with lease:
            store.down = True
            lease._confirmed -= 20  # overdue: renewed now, and the server does not answer
            assert lease.still_held() and lease.lost is None
            store.down = False
            assert lease.still_held()
            store.down = True
            lease._confirmed -= 31  # no answer for longer than the TTL: it may be taken
            assert not lease.still_held()
            store.down = False
    finally:
        store.close()
