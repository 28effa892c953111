"""Lease rules shared by state backends: who holds a lease, when it may be taken over,
how to say no, and what a run that lost its lease (a stale fencing epoch) is told.

Identity: a pid means something only on the machine, in the boot and in the PID
namespace it was issued in. Two containers (or CI runners) on one kernel may share a
hostname and even a pid, so a lease records the holder's boot id and PID-namespace id
beside host and pid, and "the holder is dead" is decided only when all three match.
Otherwise the lease is taken over only once it expires.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from podium.errors import LeaseLostError, LockedError
from podium.platform.contract import LockInfo

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_PID_NAMESPACE = Path("/proc/self/ns/pid")


def this_host() -> str:
    return socket.gethostname()


@functools.cache
def _boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return ""  # not Linux: the hostname alone tells machines apart


def _pid_namespace() -> str:
    # Not cached: a fork may be in a new namespace (unshare, clone with CLONE_NEWPID).
    try:
        return os.readlink(_PID_NAMESPACE)
    except OSError:
        return ""


class LeaseIdentity(NamedTuple):
    """This process as a lease records it."""

    host: str
    pid: int
    boot_id: str  #: ``/proc/sys/kernel/random/boot_id`` ("" where there is none)
    pid_namespace: str  #: ``readlink /proc/self/ns/pid``, e.g. ``pid:[4026531836]``


def lease_identity() -> LeaseIdentity:
    """Who this process is, for the lease it takes."""
    return LeaseIdentity(this_host(), os.getpid(), _boot_id(), _pid_namespace())


def same_pid_space(held: LockInfo) -> bool:
    """Whether ``held``'s pid names a process this one can see: same host, boot and namespace."""
    return (
        held.host == this_host()
        and held.boot_id == _boot_id()
        and held.pid_namespace == _pid_namespace()
    )


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
    if same_pid_space(held) and not pid_alive(held.pid):
        return "holder-dead"
    return None


def lock_from_dict(data: Any) -> LockInfo | None:
    """A :class:`LockInfo` from a stored mapping (unknown keys ignored); ``None`` if it is not one."""
    if not isinstance(data, dict):
        return None
    known = {f.name for f in fields(LockInfo)}
    try:
        return LockInfo(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return None


def lease_lost_error(where: str, epoch: int, current: int | None = None) -> LeaseLostError:
    """The error for a write by the lease of ``epoch`` after a later lease (``current``) began."""
    later = f" (the environment is at epoch {current})" if current is not None else ""
    return LeaseLostError(
        f"this run's lease on the state of {where} (epoch {epoch}) was taken over or "
        f"removed{later}: its writes are refused",
        hint="another run holds the state now; run 'podium plan' once it is done to see "
        "what is recorded",
    )


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
