"""The warm process's server side (see :mod:`podium.cli.warm` for what it is and when).

One process per user and interpreter identity. It imports Podium's own modules (never
a plugin), then accepts connections on its unix socket. For each one it checks the
caller (same user, same identity, nothing changed on disk since it started) and forks;
the child adopts the caller's working directory, environment, umask and standard
streams, runs the command through :func:`podium.cli.main.main`, sends the exit status
and exits. The server itself stays single-threaded, so forking it is safe.

Each child also tells the server, over a pipe, which modules its command imported; the
server then imports the libraries among them (never a module of a plugin's
distribution: see :func:`_learn`), so the next command finds them loaded. A plugin's
library (the Docker SDK of podium-podman, psycopg...) otherwise cost every command its
import again: 50 to 150 ms of a warm ``podium up``.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import io
import logging
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import warnings
from typing import Any

from podium.cli.warm import (
    DEFAULT_IDLE_SECONDS,
    IDLE_VARIABLE,
    identity,
    private_dir,
    receive_message,
    send_message,
)

#: Podium's own modules the routed commands import; plugins are never imported here
PRELOAD = (
    "podium.cli.main",
    "podium.cli.errors",
    "podium.cli.render",
    "podium.cli.commands.runtime",
    "podium.cli.commands.engine",
    "podium.cli.commands.plugins",
    "podium.cli.commands.project",
    "podium.api",
    "podium.config.loader",
    "podium.plugins.manager",
    "podium.plugins.discovery",
    "podium.plugins.allowlist",
    "podium.plugins.settings",
    "podium.plugins.timeouts",
    "podium.builtin",
    "podium.deployment.contract",
    "podium.observability.logging",
    "podium.observability.telemetry",
    "podium.security.local_store",
    "podium.state.sqlite",
    "podium.engine.session",
    "podium.engine.plan",
    "podium.engine.desired",
    "podium.engine.resource_checks",
    "podium.engine.deployer_checks",
    "podium.engine.rules",
    "podium.workload.loader",
    "podium.workload.render",
    "packaging.specifiers",
    "packaging.version",
    "importlib.metadata",
    "xmlrpc.client",
)


def serve(path: str) -> None:
    """Serve commands on ``path`` until idle; return when another server already does."""
    directory = os.path.dirname(path)
    if not private_dir(directory):
        return
    lock = open(path + ".lock", "a")  # noqa: SIM115 - held for the server's lifetime
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server has it
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")  # who serves this socket, for a user who wonders
    lock.flush()
    idle = _idle_seconds()
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    ident = identity()
    fingerprint = _fingerprint()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    gc.freeze()  # what is loaded now stays shared with the children, page for page
    reports: dict[int, bytearray] = {}  # a running child's pipe -> what it sent so far
    try:
        while True:
            ready, _, _ = select.select([listener.fileno(), *reports], [], [], idle)
            if not ready:
                return  # idle
            for fd in ready:
                if fd == listener.fileno() or _read_report(fd, reports):
                    continue  # a caller, or more of a report to come
                if not _learn(bytes(reports.pop(fd))):
                    return  # a library started a thread: forking is no longer safe
                gc.freeze()  # shared with the children, as what was loaded at start is
                # The learned modules' files are watched too, from now; every file
                # watched before keeps the time it had when the server started.
                fingerprint = {**_fingerprint(), **fingerprint}
            if listener.fileno() in ready:
                conn, _ = listener.accept()
                with conn:
                    report = _serve_one(conn, ident, fingerprint)
                if report is False:
                    return
                if isinstance(report, int):
                    reports[report] = bytearray()
    finally:
        for fd in reports:
            with contextlib.suppress(OSError):
                os.close(fd)
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        lock.close()


def _idle_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get(IDLE_VARIABLE, DEFAULT_IDLE_SECONDS)))
    except ValueError:
        return DEFAULT_IDLE_SECONDS


def _serve_one(
    conn: socket.socket, ident: dict[str, Any], fingerprint: dict[str, int]
) -> bool | int:
    """Fork a child for one command: the pipe its report comes on, ``True`` when no child
    was started, ``False`` when this server must stop."""
    conn.settimeout(10.0)
    fds: list[int] = []
    try:
        if _peer_uid(conn) != os.getuid():
            send_message(conn, {"refused": "another user"})
            return True
        request, fds = receive_message(conn, max_fds=3)
        if request.get("identity") != ident or len(fds) != 3:
            send_message(conn, {"refused": "another interpreter, sys.path or Podium"})
            return True
        if _fingerprint() != fingerprint:
            send_message(conn, {"refused": "Podium's files changed since the warm process started"})
            return False
        report, report_to = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns
            os.close(report)
            _run_child(conn, request, fds, report_to)
        os.close(report_to)
        os.set_blocking(report, False)
        return report
    except (OSError, EOFError, ValueError):
        return True
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


#: the most a child reports (module names): more is ignored, never waited for
REPORT_LIMIT = 60_000


#: ends a report: a process the command forked without exec may hold the pipe open
#: long after the child exited, so the report cannot wait for the pipe to close
END = b"\0"


def _read_report(fd: int, reports: dict[int, bytearray]) -> bool:
    """Read what a child's pipe holds; ``False`` once the report is whole (then the pipe
    is closed) or the child exited without one."""
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return True
    except OSError:
        chunk = b""
    reports[fd] += chunk[: max(0, REPORT_LIMIT - len(reports[fd]))]
    if chunk and END not in chunk:
        return True
    os.close(fd)
    reports[fd] = reports[fd].partition(END)[0] if END in chunk else bytearray()
    return False


def _report_imports(fd: int, before: frozenset[str]) -> None:
    """Send the server the modules this command imported (never blocks: the pipe holds it)."""
    names = sorted(name for name in list(sys.modules) if name not in before)
    data = "\n".join(names).encode("utf-8", "replace")[: REPORT_LIMIT - 1] + END
    with contextlib.suppress(OSError):
        os.set_blocking(fd, False)
        os.write(fd, data)
    with contextlib.suppress(OSError):
        os.close(fd)


def _learn(report: bytes) -> bool:
    """Import the libraries a child's command imported; ``False`` if one started a thread.

    Never a module of a plugin's distribution: plugins are imported by each command,
    after ``[plugins] allow`` and ``deny``. What the imports change in the process's
    warnings filters, root logger and ``sys.path`` is put back, so every command starts
    as it would in its own process; a library that starts a thread would make forking
    unsafe, so then the server stops (the next command starts another).
    """
    names = [n for n in report.decode("utf-8", "replace").splitlines() if n not in sys.modules]
    if not names:
        return True
    plugins = _plugin_packages()
    root = logging.getLogger()
    handlers, level, path = list(root.handlers), root.level, list(sys.path)
    threads = threading.active_count()  # 1 in the server; a test may run beside others
    with warnings.catch_warnings():  # puts the filters back
        for name in names:
            if name.partition(".")[0] in plugins or name.startswith("__"):
                continue
            with contextlib.suppress(Exception):
                importlib.import_module(name)
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.path[:] = path
    return threading.active_count() <= threads


_plugin_top_levels: frozenset[str] | None = None


def _plugin_packages() -> frozenset[str]:
    """The top-level packages of every installed distribution that provides a plugin."""
    global _plugin_top_levels
    if _plugin_top_levels is None:
        from importlib.metadata import packages_distributions

        from podium.plugins.discovery import canonical_name, discover

        plugins = discover()  # cached: a child inherits it, as valid as the fingerprint
        dists = {canonical_name(plugin.distribution) for plugin in plugins}
        tops = {plugin.module.partition(".")[0] for plugin in plugins}
        for top, names in packages_distributions().items():
            if dists.intersection(map(canonical_name, names)):
                tops.add(top)
        _plugin_top_levels = frozenset(tops)
    return _plugin_top_levels


def _peer_uid(conn: socket.socket) -> int:
    credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)


def _fingerprint() -> dict[str, int]:
    """Modification times of every loaded module's file and every ``sys.path`` directory:
    an upgrade, an install or an edited source file changes one of them."""
    stamps: dict[str, int] = {}
    files = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
    for name in filter(None, files):
        with contextlib.suppress(OSError, TypeError):
            stamps[name] = os.stat(name).st_mtime_ns
    for entry in sys.path:
        with contextlib.suppress(OSError):
            stamps[f"path:{entry}"] = os.stat(entry or ".").st_mtime_ns
    return stamps


def _run_child(conn: socket.socket, request: dict[str, Any], fds: list[int], report: int) -> None:
    code = 1
    before = frozenset(sys.modules)
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        send_message(conn, {"pid": os.getpid()})
        _adopt(request, fds)
        code = _run_command(request["argv"])
    except BaseException:  # the child must report and exit, whatever happened
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        with contextlib.suppress(Exception):
            send_message(conn, {"exit": code})
        _report_imports(report, before)  # after the caller has its answer
        os._exit(code)


def _adopt(request: dict[str, Any], fds: list[int]) -> None:
    """Become the caller: its directory, environment, umask and standard streams."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    fds.clear()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["environ"])
    time.tzset()  # local times as the caller's TZ says
    os.umask(int(request["umask"]))
    streams = request.get("streams", {})
    sys.stdin = _stream(0, "r", streams.get("stdin", {}))
    sys.stdout = _stream(1, "w", streams.get("stdout", {}))
    sys.stderr = _stream(2, "w", streams.get("stderr", {}))
    sys.argv = ["podium", *request["argv"]]
    # The frozen objects stay out of this short-lived child's collections too: they are
    # the modules the server loaded, alive until the process ends anyway.


def _stream(fd: int, mode: str, spec: dict[str, Any]) -> Any:
    """A text stream on ``fd`` as the caller's interpreter made it (encoding, buffering)."""
    interactive = os.isatty(fd)
    raw = io.FileIO(fd, mode, closefd=False)
    buffered: Any = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered,
        encoding=spec.get("encoding") or "utf-8",
        errors=spec.get("errors") or "strict",
        line_buffering=interactive and mode == "w",
        write_through=fd == 2,
    )


def _run_command(argv: list[str]) -> int:
    from podium.cli.main import main

    try:
        main(list(argv))
    except SystemExit as exit:
        return _exit_status(exit.code)
    return 0


def _exit_status(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(f"{code}\n")
    return 1
