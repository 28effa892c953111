"""TERM-then-KILL of real process groups, with children, stubborn processes and reused pids."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from podium.plugin import (
    StopOutcome,
    process_group_members,
    process_start_time,
    stop_process_group,
)

#: A leader that starts a child in its group and records the child's pid.
FAMILY = """
import signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[2]])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(60)
"""
STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
CALM = "import time; time.sleep(60)"


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:  # whatever a failing test left behind
        with suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait()


def family(tmp_path: Path, child: str, started: list[subprocess.Popen[bytes]]) -> tuple[int, int]:
    pidfile = tmp_path / "child.pid"
    leader = subprocess.Popen(
        [sys.executable, "-c", FAMILY, str(pidfile), child], start_new_session=True
    )
    started.append(leader)
    deadline = time.monotonic() + 30
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)
    return leader.pid, int(pidfile.read_text())


def test_a_group_that_honours_term_is_terminated_with_its_children(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    leader, child = family(tmp_path, CALM, started)
    assert sorted(process_group_members(leader)) == sorted([leader, child])
    assert stop_process_group(leader, timeout=10) is StopOutcome.TERMINATED
    assert process_group_members(leader) == []
    assert process_start_time(child) is None


def test_a_child_that_ignores_term_is_killed_after_the_timeout(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    leader, child = family(tmp_path, STUBBORN, started)
    time.sleep(0.5)  # let the child install its handler
    assert stop_process_group(leader, timeout=0.5) is StopOutcome.KILLED
    assert process_group_members(leader) == []
    assert process_start_time(child) is None


def test_children_left_by_a_dead_leader_are_still_stopped(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    leader, child = family(tmp_path, CALM, started)
    born = process_start_time(leader)
    os.kill(leader, 9)
    started[0].wait()
    assert process_group_members(leader) == [child]
    assert stop_process_group(leader, timeout=10, started=born) is StopOutcome.TERMINATED
    assert process_start_time(child) is None


def test_a_pid_that_now_belongs_to_another_process_is_left_alone(
    started: list[subprocess.Popen[bytes]],
) -> None:
    other = subprocess.Popen([sys.executable, "-c", CALM], start_new_session=True)
    started.append(other)
    born = process_start_time(other.pid)
    assert born is not None
    outcome = stop_process_group(other.pid, timeout=1, started=born - 1)  # "an earlier process"
    assert outcome is StopOutcome.GONE
    assert other.poll() is None  # still running


def test_a_group_that_does_not_exist_is_gone() -> None:
    assert stop_process_group(2**22 + 12345, timeout=1) is StopOutcome.GONE
