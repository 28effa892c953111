"""Lease rules shared by state backends: when a held lock may be taken over, and how to say no."""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime

from podium.errors import LockedError
from podium.platform.contract import LockInfo


def this_host() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it just belongs to someone else
    except OSError:
        return True  # cannot tell: assume alive, the safe answer
    return True


def takeover_reason(held: LockInfo, now: float | None = None) -> str | None:
    """Why ``held`` may be taken over (``"expired"``, ``"holder-dead"``); ``None`` if live."""
    now = time.time() if now is None else now
    if held.expires_at <= now:
        return "expired"
    if held.host == this_host() and not pid_alive(held.pid):
        return "holder-dead"
    return None


def locked_error(held: LockInfo, where: str, now: float | None = None) -> LockedError:
    """The error for a live lease held by someone else: who, where, doing what, until when."""
    now = time.time() if now is None else now
    remaining = max(0, round(held.expires_at - now))
    return LockedError(
        f"the state of {where} is locked by {held.owner} (host {held.host}, pid {held.pid}, "
        f"run {held.run_id}) running {held.operation!r} since {_when(held.acquired_at)}; "
        f"the lease expires at {_when(held.expires_at)} (in {remaining}s) unless renewed",
        hint="wait for that run to finish; if it is gone for good, run 'podium state unlock'",
    )


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
