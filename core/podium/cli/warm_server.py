"""The warm process's server side (see :mod:`podium.cli.warm` for what it is and when).

One process per user and interpreter identity. It imports Podium's own modules (never
a plugin), then accepts connections on its unix socket. For each one it checks the
caller (same user, same identity, nothing changed on disk since it started) and forks;
the child adopts the caller's working directory, environment, umask and standard
streams, runs the command through :func:`podium.cli.main.main`, sends the exit status
and exits. The server itself stays single-threaded, so forking it is safe.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import io
import os
import signal
import socket
import struct
import sys
import time
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
    listener.settimeout(idle)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    gc.freeze()  # what is loaded now stays shared with the children, page for page
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                return
            with conn:
                if not _serve_one(conn, ident, fingerprint):
                    return
    finally:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        lock.close()


def _idle_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get(IDLE_VARIABLE, DEFAULT_IDLE_SECONDS)))
    except ValueError:
        return DEFAULT_IDLE_SECONDS


def _serve_one(conn: socket.socket, ident: dict[str, Any], fingerprint: tuple[Any, ...]) -> bool:
    """Fork a child for one command; ``False`` when this server must stop."""
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
        pid = os.fork()
        if pid == 0:  # the child never returns
            _run_child(conn, request, fds)
        return True
    except (OSError, EOFError, ValueError):
        return True
    finally:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def _peer_uid(conn: socket.socket) -> int:
    credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return int(uid)


def _fingerprint() -> tuple[Any, ...]:
    """Modification times of every loaded module's file and every ``sys.path`` directory:
    an upgrade, an install or an edited source file changes one of them."""
    stamps: list[tuple[str, int]] = []
    files = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
    for name in sorted(filter(None, files), key=str):
        with contextlib.suppress(OSError):
            stamps.append((name, os.stat(name).st_mtime_ns))
    for entry in sys.path:
        with contextlib.suppress(OSError):
            stamps.append((entry, os.stat(entry or ".").st_mtime_ns))
    return tuple(stamps)


def _run_child(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    code = 1
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
