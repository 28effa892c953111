"""The Podman API service podium-podman starts when no socket is configured.

One ``podman system service --time=0`` per environment, its socket, pid, log and
``containers.conf`` in the deployer's private state directory (the socket moves to
a short private directory under the system's temporary directory when that path is
too long for a Unix socket). It runs in a session of its own, so a ``podium``
command ending does not stop it; the next command finds it by pid and start time
and checks it answers. ``stop`` ends it (destroy does when no container is left).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from podium.plugin import (
    DeployerState,
    ResourceError,
    make_private_dir,
    process_start_time,
    stop_process_group,
    write_atomic,
)
from podium_podman.settings import Settings

#: Longest path a Unix socket address holds (108 bytes with the terminating NUL).
MAX_SOCKET_PATH = 100


def containers_conf(settings: Settings) -> str:
    """The configuration the service runs with: runtime and ulimits, nothing else."""
    ulimits = ", ".join(f'"{u}"' for u in settings.ulimits)
    return (
        "# written by podium-podman; CONTAINERS_CONF points at this file\n"
        f"[containers]\ndefault_ulimits = [{ulimits}]\n"
        f'[engine]\nruntime = "{settings.runtime}"\n'
    )


class PodmanService:
    """The started service of one environment: start on demand, find again, stop."""

    def __init__(
        self, state: DeployerState, settings: Settings, environ: Mapping[str, str] | None = None
    ) -> None:
        self.state = state
        self.settings = settings
        self.environ = dict(os.environ if environ is None else environ)

    @property
    def socket_path(self) -> Path:
        path = self.state.path / "podman.sock"
        if len(str(path)) <= MAX_SOCKET_PATH:
            return path
        digest = hashlib.sha256(str(self.state.path).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"podium-podman-{digest}" / "podman.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def ensure_running(self, ping: Any) -> str:
        """The service's URL, starting it first unless it runs and ``ping(url)`` answers."""
        with self.state.lock("service", timeout=self.settings.service_start_timeout):
            if self._alive() and _answers(ping, self.url):
                return self.url
            self._stop_recorded()
            self._start()
            deadline = time.monotonic() + self.settings.service_start_timeout
            while time.monotonic() < deadline:
                if self.socket_path.exists() and _answers(ping, self.url):
                    return self.url
                if not self._alive():
                    break
                time.sleep(0.05)
            log = (self.state.read_text("service.log") or "").strip().splitlines()[-5:]
            self._stop_recorded()
            raise ResourceError(
                "the Podman API service did not start: " + (" | ".join(log) or "no output"),
                hint=f"check '{self.settings.podman} info' works, or set [plugins.podman] socket",
            )

    def _start(self) -> None:
        conf = self.state.write_text("containers.conf", containers_conf(self.settings))
        make_private_dir(self.socket_path.parent)
        self.socket_path.unlink(missing_ok=True)
        env = {**self.environ, "CONTAINERS_CONF": str(conf)}
        with open(self.state.file("service.log"), "ab") as log:
            try:
                process = subprocess.Popen(
                    [self.settings.podman, "system", "service", "--time=0", self.url],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    env=env,
                    start_new_session=True,  # outlives this command; a group of its own
                )
            except FileNotFoundError:
                raise ResourceError(
                    f"{self.settings.podman} not found",
                    hint="install podman (and runc), or set [plugins.podman] socket",
                ) from None
        started = process_start_time(process.pid)
        write_atomic(self.state.file("service.pid"), f"{process.pid} {started}\n")

    def _recorded(self) -> tuple[int, int | None] | None:
        text = self.state.read_text("service.pid")
        if not text:
            return None
        try:
            pid, started = text.split()
            return int(pid), (None if started == "None" else int(started))
        except ValueError:
            return None

    def _alive(self) -> bool:
        recorded = self._recorded()
        if recorded is None:
            return False
        pid, started = recorded
        now = process_start_time(pid)
        return now is not None and now == started

    def _stop_recorded(self) -> None:
        recorded = self._recorded()
        if recorded is not None:
            pid, started = recorded
            with suppress(TimeoutError, ProcessLookupError, PermissionError):
                stop_process_group(pid, timeout=5, started=started)
        self.state.remove("service.pid")

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """Say the service is in use (a shared lock) while a deployer call talks to it."""
        fd = os.open(self.state.file("service.users"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def stop_if_unused(self) -> bool:
        """Stop the service unless another call (in any process) uses it; whether it stopped."""
        fd = os.open(self.state.file("service.users"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            self.stop()
            return True
        finally:
            os.close(fd)

    def stop(self) -> None:
        """Stop the service if this plugin started it (its containers keep running)."""
        with self.state.lock("service", timeout=self.settings.service_start_timeout):
            self._stop_recorded()
            self.socket_path.unlink(missing_ok=True)


def _answers(ping: Any, url: str) -> bool:
    try:
        return bool(ping(url))
    except Exception:  # not listening yet, or a dead socket file
        return False
