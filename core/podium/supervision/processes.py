"""Stopping what a deployer started: a process group, TERM first, KILL after a timeout.

Start each container's process as the leader of its own process group
(``subprocess.Popen(..., start_new_session=True)``; supervisord does this too), keep
its pid and :func:`process_start_time`, and stop it with :func:`stop_process_group`:
its children go with it, and a pid reused by an unrelated process is never signalled.
Membership is read from ``/proc`` (Linux), so zombies (exited, not yet collected by
their parent) do not count as running.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import suppress
from enum import StrEnum
from pathlib import Path

_PROC = Path("/proc")


class StopOutcome(StrEnum):
    """What :func:`stop_process_group` had to do."""

    #: nothing of the group was running (or the pid belongs to another process now)
    GONE = "gone"
    #: every process ended after SIGTERM, within the timeout
    TERMINATED = "terminated"
    #: something ignored SIGTERM for the whole timeout and was killed
    KILLED = "killed"


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` from field 3 (the state) on, or ``None`` if there is no such process."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return stat.rsplit(")", 1)[1].split()


def process_start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), or ``None`` if it does not run.

    The pair (pid, start time) tells a process from a later one that reuses its pid:
    record both when you start a process, compare both before you signal it.
    """
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])  # field 22, counted from field 3


def process_group_members(pgid: int) -> list[int]:
    """The running (not zombie) processes whose process group is ``pgid``."""
    members: list[int] = []
    try:
        entries = list(_PROC.iterdir())
    except OSError:  # no /proc: ask the kernel whether the group has any process at all
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        except PermissionError:
            pass
        return [pgid]
    for entry in entries:
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        # fields[0] is the state, fields[2] the process group
        if fields is not None and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def stop_process_group(
    pgid: int,
    *,
    timeout: float = 10.0,
    started: int | None = None,
    kill_timeout: float = 5.0,
    interval: float = 0.05,
) -> StopOutcome:
    """Stop every process of group ``pgid``: SIGTERM, and SIGKILL for what still runs
    after ``timeout`` seconds; return once none runs (or ``kill_timeout`` more passed).

    ``started`` is the leader's :func:`process_start_time` recorded at its start: when
    a process with that pid runs but started at another time, the pid was reused and
    nothing is signalled. (While any member of a group runs, the kernel does not hand
    its id to a new process, so members found without their leader are the group's.)
    Raises ``TimeoutError`` when processes survive even SIGKILL (stuck in the kernel).
    """
    if started is not None:
        now = process_start_time(pgid)
        if now is not None and now != started:
            return StopOutcome.GONE
    if not process_group_members(pgid):
        return StopOutcome.GONE
    _signal_group(pgid, signal.SIGTERM)
    _signal_group(pgid, signal.SIGCONT)  # a stopped process handles TERM only once resumed
    if _wait_empty(pgid, timeout, interval):
        return StopOutcome.TERMINATED
    _signal_group(pgid, signal.SIGKILL)
    if _wait_empty(pgid, kill_timeout, interval):
        return StopOutcome.KILLED
    raise TimeoutError(f"process group {pgid} still runs {kill_timeout:g}s after SIGKILL")


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _wait_empty(pgid: int, timeout: float, interval: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)
    return True
