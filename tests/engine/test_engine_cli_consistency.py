"""The day-2 CLI rules through the real ``podium`` in subprocesses (issue 13, "Consistent
CLI"): hints that carry the flags needed, one confirmation policy, a live progress line."""

from __future__ import annotations

import os
import socket
import time
import uuid
from typing import Any

from podium.api import Platform
from podium.platform.contract import LockInfo


def _hold_lock(project: Any, env: str) -> Platform:
    """A live lease on ``env`` held by this (test) process, as a concurrent run would."""
    platform = Platform.from_file(project.root / "podium.toml", load_entrypoints=False)
    now = time.time()
    platform.store(env).acquire_lock(
        LockInfo(
            owner="alice@example",
            host=socket.gethostname(),
            pid=os.getpid(),
            run_id=uuid.uuid4().hex,
            acquired_at=now,
            expires_at=now + 600,
        )
    )
    return platform


def test_the_lock_hint_names_the_environment_and_config(project: Any) -> None:
    platform = _hold_lock(project, "prod")
    try:
        locked = project.podium("up", "-e", "prod")
        assert locked.returncode == 7, locked.stderr
        assert "'podium state unlock -e prod'" in locked.stderr
        (project.root / "podium.toml").rename(project.root / "ci.toml")
        elsewhere = project.podium("-c", "ci.toml", "-e", "prod", "up")
        assert elsewhere.returncode == 7, elsewhere.stderr
        assert "'podium -c ci.toml state unlock -e prod'" in elsewhere.stderr
    finally:
        platform.close()


def _on_terminal(
    project: Any, *args: str, answer: str | None = None, timeout: float = 120, **env: str
) -> tuple[int, str]:
    """Run podium with stdin, stdout and stderr on a pseudo-terminal, as a person would.

    ``answer`` is typed when a ``[y/N]`` question appears; with ``None`` a question
    fails the test. Returns the exit code and everything the terminal showed.
    """
    import pty
    import select
    import subprocess
    import sys

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "podium", *args],
        cwd=project.root,
        env=project.env(**env),
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)
    shown = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # the process closed the terminal: it exited
                    break
                if not chunk:
                    break
                shown += chunk
            if not answered and b"[y/N]" in shown:
                assert answer is not None, f"podium asked unexpectedly:\n{shown.decode()}"
                os.write(controller, answer.encode() + b"\n")
                answered = True
            if process.poll() is not None and not ready:
                break
        else:
            raise AssertionError(f"podium did not finish:\n{shown.decode(errors='replace')}")
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    if answer is not None:
        assert answered, f"podium never asked:\n{shown.decode(errors='replace')}"
    return code, shown.decode(errors="replace")


OTHER = """\
apiVersion: score.dev/v1b1
metadata:
  name: other
containers:
  main:
    image: example/other:1.0
"""


def test_destroy_of_one_workload_asks_about_that_workload(project: Any) -> None:
    (project.root / "other.score.yaml").write_text(OTHER)
    project.podium("up", check=True)
    code, shown = _on_terminal(project, "destroy", "-w", "web", answer="n")
    assert code == 130, shown
    assert "Destroy workload 'web' in 'dev'" in shown and "everything" not in shown
    assert project.deployed("web") is not None  # declining changed nothing
    code, shown = _on_terminal(project, "destroy", answer="n")
    assert "Destroy everything in 'dev'" in shown
    assert project.deployed("web") is not None and project.deployed("other") is not None


def _drop_the_cache_volume(project: Any) -> None:
    """Edit web's Score file so that the next plan deletes its ``cache`` volume."""
    score = project.root / "web.score.yaml"
    text = score.read_text()
    score.write_text(text[: text.index("  cache:")])


def test_up_and_apply_ask_before_deleting_on_a_terminal_only(project: Any) -> None:
    # creates and updates take nothing away: no question, on a terminal either
    code, shown = _on_terminal(project, "up")
    assert code == 0, shown
    _drop_the_cache_volume(project)
    for command in ("up", "apply"):
        code, shown = _on_terminal(project, command, answer="n")
        assert code == 130, shown
        assert "This will delete 1 node(s) of web in 'dev'. Continue? [y/N]" in shown
        assert len(project.dirs()) == 2  # nothing deleted
    code, shown = _on_terminal(project, "apply", "--yes")
    assert code == 0, shown
    assert len(project.dirs()) == 1


def test_without_a_terminal_nothing_asks(project: Any) -> None:
    project.podium("up", check=True)
    _drop_the_cache_volume(project)
    result = project.podium("up", check=True)  # CI: stdin is not a terminal
    assert "Continue?" not in result.stdout + result.stderr
    assert len(project.dirs()) == 1
    assert project.podium("destroy", check=True).returncode == 0
    assert project.dirs() == []


def test_ctrl_c_exits_130_without_a_traceback(project: Any) -> None:
    import signal
    import subprocess
    import sys

    for json_flag in ((), ("--json",)):
        run = subprocess.Popen(
            [sys.executable, "-m", "podium", *json_flag, "up"],
            cwd=project.root,
            env=project.env(FAKE_PAUSE_AFTER_CREATE="5"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not project.dirs() and time.monotonic() < deadline:
            time.sleep(0.05)
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=120)
        assert run.returncode == 130, err
        assert "Traceback" not in err
        if json_flag:
            assert '"exit_code": 130' in err
        else:
            # mid-apply, the first Ctrl-C cancels the run cleanly (elsewhere: "Interrupted.")
            assert "Cancelling" in err and "did not start" in err
        project.podium("destroy", check=True)


def _colour_codes(shown: str) -> list[str]:
    """The SGR sequences in ``shown`` that set a foreground or background colour."""
    import re

    found = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", shown):
        codes = [int(p) for p in params.split(";") if p]
        if any(30 <= c <= 49 or 90 <= c <= 107 for c in codes):
            found.append(params)
    return found


def test_a_live_progress_line_during_long_waits_on_a_terminal_only(project: Any) -> None:
    code, shown = _on_terminal(project, "up", FAKE_PAUSE_AFTER_CREATE="2")
    assert code == 0, shown
    assert "creating volume.default#web." in shown  # the live line names the wait
    assert _colour_codes(shown), "a terminal gets colour"
    project.podium("destroy", check=True)
    piped = project.podium("up", check=True, FAKE_PAUSE_AFTER_CREATE="1")
    assert "creating volume" not in piped.stderr and "succeeded" in piped.stderr
    assert not _colour_codes(piped.stdout + piped.stderr)


def test_no_color_is_honoured_on_a_terminal(project: Any) -> None:
    code, shown = _on_terminal(project, "up", NO_COLOR="1")
    assert code == 0, shown
    assert "Apply complete" in shown
    assert not _colour_codes(shown), shown
    code, shown = _on_terminal(project, "status", NO_COLOR="1")
    assert "ready" in shown and not _colour_codes(shown)
