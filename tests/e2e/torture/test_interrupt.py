"""Ctrl-C and ``--lock-timeout`` on the real ``podium`` CLI (issue 12 item 2).

A run is held inside its first create by the torture plugin's gate file, so the
signal always arrives while a change is in flight; nothing here depends on timing.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

from torture_project import Project, check_state_is_reality

from podium.errors import ExitCode

PATIENCE = 120.0  # a bound against hanging CI, not a timing assertion


class StderrLines:
    """Collects a process's stderr as it comes, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        assert process.stderr is not None
        stream = process.stderr
        self._reader = threading.Thread(
            target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True
        )
        self._reader.start()

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + PATIENCE
        while not any(text in line for line in self.lines):
            if self.process.poll() is not None:
                self._reader.join(PATIENCE)
                if any(text in line for line in self.lines):
                    return
                raise AssertionError(f"exited before saying {text!r}: {''.join(self.lines)}")
            assert time.monotonic() < deadline, f"never said {text!r}: {''.join(self.lines)}"
            time.sleep(0.02)

    def finish(self) -> tuple[int, str]:
        self.process.wait(PATIENCE)
        self._reader.join(PATIENCE)
        return self.process.returncode, "".join(self.lines)


def _wait_for_file_text(path: Path, text: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not (path.exists() and text in path.read_text()):
        assert process.poll() is None, f"exited early: {process.communicate()}"
        assert time.monotonic() < deadline, f"gave up waiting for {text!r} in {path}"
        time.sleep(0.02)


def test_ctrl_c_finishes_the_running_change_records_it_and_exits_130(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.write_workload("app", {"aa": {}, "bb": {}, "cc": {}})
    gate, log = tmp_path / "gate", tmp_path / "ops.log"
    run = project.podium(
        "apply", "--yes", "-p", "1", PODIUM_TORTURE_GATE=str(gate), PODIUM_TORTURE_LOG=str(log)
    )
    stderr = StderrLines(run)
    _wait_for_file_text(log, " start ", run)  # inside its first create, intent journaled
    run.send_signal(signal.SIGINT)
    stderr.wait_for("Cancelling")
    gate.touch()
    code, text = stderr.finish()
    assert code == ExitCode.CANCELLED == 130, text
    assert "cancelled" in text and "Traceback" not in text
    with project.platform() as platform:
        store = platform.store("dev")
        assert store.pending_intents() == []
        assert store.lock_info() is None
        assert platform.history("dev")[0]["status"] == "cancelled"
        # What ran is recorded and real; what did not start does not exist.
        check_state_is_reality(platform, project.world)
        assert len([r for r in store.records() if r.kind == "resource"]) == 1
    done = project.run("apply", "--yes")
    assert done.returncode == 0, done.stderr
    with project.platform() as platform:
        check_state_is_reality(platform, project.world, {"aa", "bb", "cc"})


def test_lock_timeout_waits_for_the_holder_then_applies(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.write_workload("first", {"aa": {}})
    gate, log = tmp_path / "gate", tmp_path / "ops.log"
    holder = project.podium(
        "apply",
        "--yes",
        "-f",
        "first.score.yaml",
        PODIUM_TORTURE_GATE=str(gate),
        PODIUM_TORTURE_LOG=str(log),
    )
    _wait_for_file_text(log, " start ", holder)
    project.write_workload("second", {"bb": {}})
    refused = project.run("up", "-f", "second.score.yaml")
    assert refused.returncode == ExitCode.LOCKED, refused.stderr
    assert "--lock-timeout" in refused.stderr
    waiter = project.podium("up", "-f", "second.score.yaml", "--lock-timeout", str(PATIENCE))
    waiting = StderrLines(waiter)
    waiting.wait_for("Waiting for the state lock")
    gate.touch()
    _, holder_stderr = holder.communicate(timeout=PATIENCE)
    assert holder.returncode == 0, holder_stderr
    code, text = waiting.finish()
    assert code == 0, text
    with project.platform() as platform:
        check_state_is_reality(platform, project.world, {"aa", "bb"})
        assert platform.store("dev").lock_info() is None
