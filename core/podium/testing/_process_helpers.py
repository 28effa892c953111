"""Helpers of the process deployer kit: a deploy killed midway, logs followed, files searched.

Each runs deployer code in a way a plain call cannot: in a forked copy of the test
process (to SIGKILL it), in a thread (to wait for a follow with a timeout), or over
every file a deployer wrote.
"""

from __future__ import annotations

import base64
import os
import queue
import signal
import stat
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.testing._deploy_records import RecordedProcess, wait_until
from podium.testing._report import PluginCallFailed

if TYPE_CHECKING:
    from podium.deployment.contract import DeployContext, RenderedWorkload
    from podium.testing.deployer_kit import KitRun


def deploy_killed_midway(
    kit: KitRun, ctx: DeployContext, workload: RenderedWorkload, started: Callable[[], bool]
) -> None:
    """Run ``deploy`` in a forked copy of this process and SIGKILL it once ``started()``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: deploy, and never return into pytest
        code = 0
        try:
            kit.deployer.deploy(ctx, workload)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    reaped = False

    def finished() -> bool:
        nonlocal reaped
        reaped = reaped or os.waitpid(pid, os.WNOHANG)[0] == pid
        return reaped

    try:
        wait_until(lambda: started() or finished(), 60.0)
    finally:
        if not reaped:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


class Following:
    """``logs(follow=True)`` read in a thread, so the kit can wait for lines with a timeout."""

    END = object()

    def __init__(self, deployer: Any, ctx: DeployContext, process: RecordedProcess) -> None:
        self.process = process
        self.lines: queue.Queue[object] = queue.Queue()
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._read, args=(deployer, ctx, process.container), daemon=True
        )

    def _read(self, deployer: Any, ctx: DeployContext, container: str) -> None:
        try:
            iterator = deployer.logs(ctx, container=container, follow=True)
            for line in iterator:
                self.lines.put(line)
                if self.stopping.is_set():
                    break
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
        except BaseException as exc:
            self.lines.put(exc)
        finally:
            self.lines.put(self.END)

    def __enter__(self) -> Following:
        self.thread.start()
        return self

    def until(self, text: str, timeout: float) -> tuple[bool, int, bool]:
        """(seen?, lines read, ended?) after reading up to a line holding ``text``."""
        deadline = time.monotonic() + timeout
        count = 0
        while True:
            try:
                item = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False, count, False
            if item is self.END:
                return False, count, True
            if isinstance(item, BaseException):
                raise PluginCallFailed(
                    f"logs(follow=True) raised {type(item).__name__}: {item}"
                ) from item
            count += 1
            if text in str(getattr(item, "text", "")):
                return True, count, False

    def __exit__(self, *exc: object) -> None:
        """Stop reading: a new line wakes a follower that waits for one, which then ends."""
        self.stopping.set()
        self.process.send(signal.SIGUSR1)
        self.thread.join(5.0)


def files_holding(directories: list[Path], secret: str, skip: Path) -> list[str]:
    """Files under ``directories`` (not under ``skip``) holding ``secret`` or its base64."""
    raw = secret.encode()
    needles = [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"=")]
    found = []
    for directory in directories:
        for root, dirs, files in os.walk(directory):
            dirs[:] = [d for d in dirs if Path(root, d) != skip]
            for name in files:
                path = Path(root, name)
                try:
                    info = os.lstat(path)
                    if not stat.S_ISREG(info.st_mode) or info.st_size > 64 * 2**20:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                if any(needle in data for needle in needles):
                    found.append(str(path))
    return sorted(found)
