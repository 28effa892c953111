"""One supervisord per environment, driven through its XML-RPC API on a unix socket.

Layout (``home`` = ``<env state>/local/supervisor``)::

    home/supervisord.conf   generated; includes programs/*.conf
    home/programs/*.conf    one [program:x] per container, written by the deployer
    home/supervisord.log, supervisord.pid
    <sockets>/supervisor.sock   in home, or /tmp/podium-sv-<hash> when home's path is too long

supervisord is started on the first deploy and shut down when the last program
is removed. It is started with the environment of the ``podium`` process that
started it; the launcher layers each container's own variables on top.
"""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from podium.plugin import EnvironmentInfo, ResourceError, TransientError
from podium_local.files import file_lock, plugin_dir, private_dir, socket_dir, write_atomic
from podium_local.network import wait_until
from podium_local.servers.process import pid_alive, read_pid
from podium_local.servers.safe_dirs import owned_dir
from podium_local.settings import Settings

# supervisord fault codes (supervisor.xmlrpc.Faults) we react to.
BAD_NAME = 10
NOT_RUNNING = 70
ALREADY_STARTED = 60


# What supervisord's INI parser would read differently from what we wrote: a line
# break or other control character (a new line is a new setting), and ';' or '#'
# after whitespace (an inline comment that cuts the value short).
_UNSAFE_IN_CONFIG = re.compile(r"[\x00-\x1f\x7f]|\s[;#]")


def escape(value: str, what: str = "a supervisord setting") -> str:
    """``value`` as a supervisord config value, or a ResourceError if it cannot be one.

    supervisord expands ``%(name)s`` in config values, so a literal ``%`` is
    doubled; what cannot be escaped (line breaks, inline comments, surrounding
    blanks the parser would strip) is refused, so a name or path can never add
    a setting to a program's config.
    """
    if _UNSAFE_IN_CONFIG.search(value) or value != value.strip():
        raise ResourceError(
            f"{what} {value!r} cannot be written to a supervisord config",
            hint="remove control characters, surrounding blanks and ' ;' / ' #' from it",
        )
    return value.replace("%", "%%")


class _UnixSocketConnection(http.client.HTTPConnection):
    """HTTP over supervisord's unix socket (``path``); the host name is only a label."""

    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class UnixSocketTransport(xmlrpc.client.Transport):
    """XML-RPC to supervisord over its unix socket with the standard library alone.

    supervisor's own ``SupervisorTransport`` pulls in its medusa HTTP server modules
    (about 12 ms), which ``podium status`` would pay on every call for nothing.
    """

    def __init__(self, path: str, timeout: float | None = None) -> None:
        super().__init__()
        self._path = path
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        # kept between the calls of one proxy, as the base class keeps its connection
        kept_host, connection = self._connection
        if connection is None or kept_host != host:
            connection = _UnixSocketConnection(self._path, self._timeout)
            self._connection = (host, connection)
        return connection


class Supervisor:
    def __init__(self, env: EnvironmentInfo, settings: Settings) -> None:
        self.settings = settings
        self.home = plugin_dir(env) / "supervisor"
        self.programs = self.home / "programs"
        self.lock = plugin_dir(env) / "supervisor.lock"
        self.socket = socket_dir(self.home, "sv") / "supervisor.sock"

    # --- connection -------------------------------------------------------------
    def rpc(self) -> Any:
        """A fresh XML-RPC proxy (they are not thread-safe, so never share one)."""
        transport = UnixSocketTransport(str(self.socket))
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport, allow_none=True)

    def is_running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            state = self.rpc().supervisor.getState()
        except (OSError, xmlrpc.client.Error):
            return False
        return bool(state.get("statename") == "RUNNING")

    # --- lifecycle ----------------------------------------------------------------
    def _write_config(self) -> Path:
        private_dir(self.programs)
        # In /tmp when the state path is too long: never adopt a directory someone planted.
        owned_dir(self.socket.parent)
        conf = self.home / "supervisord.conf"
        write_atomic(
            conf,
            "; Generated by podium-local; program files live in programs/.\n"
            "[unix_http_server]\n"
            f"file={escape(str(self.socket))}\n"
            "chmod=0700\n\n"
            "[supervisord]\n"
            f"logfile={escape(str(self.home / 'supervisord.log'))}\n"
            f"pidfile={escape(str(self.home / 'supervisord.pid'))}\n"
            f"childlogdir={escape(str(self.home))}\n"
            "logfile_maxbytes=5MB\nlogfile_backups=1\nloglevel=info\numask=022\n\n"
            "[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
            "[supervisorctl]\n"
            f"serverurl=unix://{escape(str(self.socket))}\n\n"
            "[include]\n"
            f"files={escape(str(self.programs))}/*.conf\n",
        )
        return conf

    def ensure_running(self) -> None:
        """Start supervisord unless it answers; caller holds :attr:`lock`."""
        if self.is_running():
            return
        stale = read_pid(self.home / "supervisord.pid")
        if stale and pid_alive(stale):
            # Alive but not answering: give it a moment (it may be starting up).
            if wait_until(self.is_running, 5.0):
                return
            raise TransientError(f"supervisord (pid {stale}) is not answering on {self.socket}")
        self.socket.unlink(missing_ok=True)
        conf = self._write_config()
        done = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise ResourceError(
                f"supervisord did not start: {(done.stderr or done.stdout).strip()}"
            )
        if not wait_until(self.is_running, self.settings.server_start_timeout):
            raise ResourceError(f"supervisord did not answer; see {self.home / 'supervisord.log'}")

    def shutdown_if_idle(self) -> bool:
        """Stop supervisord and remove its files when no program is left; caller holds the lock."""
        if any(self.programs.glob("*.conf")):
            return False
        pid = read_pid(self.home / "supervisord.pid")
        if self.is_running():
            with suppress(OSError, xmlrpc.client.Error):
                self.rpc().supervisor.shutdown()
        if pid:
            wait_until(lambda: not pid_alive(pid), self.settings.stop_timeout + 5)
        shutil.rmtree(self.home, ignore_errors=True)
        if self.socket.parent != self.home:
            shutil.rmtree(self.socket.parent, ignore_errors=True)
        return True

    @contextmanager
    def locked(self) -> Iterator[None]:
        with file_lock(self.lock):
            yield

    # --- programs -------------------------------------------------------------------
    def sync_programs(self) -> None:
        """Make supervisord's process groups match programs/*.conf; caller holds the lock.

        Groups whose config changed are removed and added again (stopping them);
        new groups are added without starting (``autostart=false``): the deployer
        starts them in ``before`` order.
        """
        rpc = self.rpc()
        added, changed, removed = rpc.supervisor.reloadConfig()[0]
        for name in [*removed, *changed]:
            self._stop(rpc, name)
            rpc.supervisor.removeProcessGroup(name)
        for name in [*added, *changed]:
            rpc.supervisor.addProcessGroup(name)

    @staticmethod
    def _stop(rpc: Any, name: str) -> None:
        try:
            rpc.supervisor.stopProcessGroup(name, True)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode not in (BAD_NAME, NOT_RUNNING):
                raise

    def info(self, program: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self.rpc().supervisor.getProcessInfo(program)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == BAD_NAME:
                return None
            raise
        except OSError:
            return None
        return result

    def start(self, program: str) -> None:
        try:
            self.rpc().supervisor.startProcess(program, False)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != ALREADY_STARTED:
                raise ResourceError(
                    f"supervisord could not start {program}: {fault.faultString}"
                ) from None

    def stop(self, program: str) -> None:
        self._stop(self.rpc(), program)

    def wait_state(
        self, program: str, states: Iterable[str], timeout: float
    ) -> dict[str, Any] | None:
        wanted = set(states)
        deadline = time.monotonic() + timeout
        while True:
            info = self.info(program)
            if info is not None and info.get("statename") in wanted:
                return info
            if time.monotonic() >= deadline:
                return info
            time.sleep(0.1)
