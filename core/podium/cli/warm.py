"""The warm process: developer commands answered by a fork of a process that has imported Podium.

``podium status`` spends most of its time importing (pydantic, the config models,
OpenTelemetry, click, the engine) before it reads one row of state. A developer at a
terminal runs it all day, so the ``podium`` executable keeps a *warm process* per
user and interpreter (:mod:`podium.cli.warm_server`): it imports Podium's own modules
once -- never a plugin: plugins are imported by each command after ``[plugins]
allow`` and ``deny`` are read -- and for each command forks a child that takes the
caller's arguments, working directory, environment, umask and standard streams (the
descriptors themselves, passed over a unix socket), runs the command exactly as the
executable would, and reports its exit status. Each command still runs in a process
of its own, so nothing leaks from one command to the next.

Only the commands a developer runs all day are routed (:data:`ROUTED`): the read-only
ones and ``up``. ``up`` changes things, so the child is the caller's in everything a
change depends on: the same user, environment, working directory, umask, resource
limits and control group (a caller whose limits or group differ gets a warm process of
its own), and its prompts read the caller's terminal. Everything else, and any case
the warm process cannot serve as the caller would be served in-process (another
interpreter, ``sys.path`` or flags; Podium's or a module's files changed since it
started: then it exits), runs in the calling process as before.

When it is used: ``PODIUM_WARM=1`` always, ``PODIUM_WARM=0`` never; unset, only when
standard input and output are a terminal (a developer typing commands). Scripts, CI,
pipes and tests therefore run every command in-process unless they ask. The process lives in a
directory only the user can enter (``$XDG_RUNTIME_DIR/podium`` or
``/tmp/podium-<uid>``), accepts connections of the same user only, and exits after
``PODIUM_WARM_IDLE`` seconds (default 900) without a command.

This module is imported by every ``podium`` invocation, so it imports only small
standard-library modules.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import signal
import socket
import struct
import sys
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

#: the built-in commands a warm process may run: they read state and write nothing
#: but their own output (``plan -o`` writes the plan file where the caller asked)
ROUTED = frozenset({"status", "plan", "plugins", "validate", "history", "up"})
#: sub-commands of a routed group that may be routed (others run in-process)
ROUTED_SUBCOMMANDS = {"plugins": frozenset({"list"})}
#: root options that take a value (so the value is not taken for the command's name)
_VALUE_OPTIONS = frozenset({"-c", "--config", "-e", "--env"})
#: the root's flags
_FLAGS = frozenset({"--json", "--debug", "--strict-plugins", "--no-plugins"})

_HEADER = struct.Struct("!I")
#: environment variables that steer the warm process itself
ENABLE_VARIABLE = "PODIUM_WARM"
IDLE_VARIABLE = "PODIUM_WARM_IDLE"
DEFAULT_IDLE_SECONDS = 900.0


def routed_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs when a warm process may run it, else ``None``."""
    args = list(argv)
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in _VALUE_OPTIONS:
            index += 2
            continue
        if arg in _FLAGS or any(arg.startswith(f"{o}=") for o in _VALUE_OPTIONS if "--" in o):
            index += 1
            continue
        if arg.startswith("-"):
            return None  # --help, --version, a typo: click answers in-process
        break
    else:
        return None
    command = args[index]
    if command not in ROUTED or "--help" in args or "-h" in args:
        return None
    sub = ROUTED_SUBCOMMANDS.get(command)
    if sub is not None:
        rest = [a for a in args[index + 1 :] if not a.startswith("-")]
        if not rest or rest[0] not in sub:
            return None
    return command


def wanted(environ: Mapping[str, str]) -> bool:
    """``PODIUM_WARM`` decides; unset, a warm process serves a terminal only."""
    setting = environ.get(ENABLE_VARIABLE, "").strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    try:
        return os.isatty(0) and os.isatty(1)  # someone typing, reading the answer
    except OSError:
        return False


def identity() -> dict[str, Any]:
    """What must be equal for a warm process to run a command as this process would."""
    import podium
    from podium.version import __version__

    return {
        "podium": __version__,
        "package": podium.__file__,
        "executable": sys.executable,
        "path": list(sys.path),
        "flags": list(sys.flags),
        "warnoptions": list(sys.warnoptions),
        "xoptions": sorted(f"{k}={v}" for k, v in sys._xoptions.items()),
        "fsencoding": sys.getfilesystemencoding(),
        "uid": os.getuid(),
        "limits": _limits(),
        "cgroup": _cgroup(),
    }


def _limits() -> dict[str, list[int]]:
    """The resource limits a command (and the servers ``up`` starts) inherits."""
    import resource

    return {
        name: list(resource.getrlimit(getattr(resource, name)))
        for name in sorted(dir(resource))
        if name.startswith("RLIMIT_")
    }


def _cgroup() -> str:
    """The control group (a systemd scope, a container's limits) the caller runs in."""
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as found:
            return found.read()
    except OSError:
        return ""


def runtime_dir(environ: Mapping[str, str]) -> str:
    base = environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isdir(base):
        return os.path.join(base, "podium")
    return os.path.join("/tmp", f"podium-{os.getuid()}")


def socket_path(environ: Mapping[str, str], ident: Mapping[str, Any]) -> str:
    """One warm process per identity; the name is a checksum (the server compares it all)."""
    key = zlib.crc32(json.dumps(ident, sort_keys=True).encode())
    return os.path.join(runtime_dir(environ), f"warm-{key:08x}.sock")


def private_dir(path: str) -> bool:
    """Create ``path`` for this user alone, or check that it is; ``False`` when it is not."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    import stat

    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and stat.S_IMODE(info.st_mode) & 0o077 == 0
    )


# ---------------------------------------------------------------- messages
def send_message(sock: socket.socket, message: Mapping[str, Any], fds: Sequence[int] = ()) -> None:
    data = json.dumps(message).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())]
        sent = sock.sendmsg([payload], rights)
        payload = payload[sent:]
    if payload:
        sock.sendall(payload)


def receive_message(sock: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """One message (and the descriptors that came with it); ``EOFError`` when the peer left."""
    fds: list[int] = []
    buffer = b""
    if max_fds:
        space = socket.CMSG_SPACE(max_fds * array.array("i").itemsize)
        data, ancillary, _flags, _addr = sock.recvmsg(65536, space)
        for level, kind, blob in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(array.array("i", blob[: len(blob) - len(blob) % 4]))
        buffer = data
        if not data:
            raise EOFError("the peer closed the connection")
    while len(buffer) < _HEADER.size:
        buffer += _receive(sock)
    (size,) = _HEADER.unpack(buffer[: _HEADER.size])
    buffer = buffer[_HEADER.size :]
    while len(buffer) < size:
        buffer += _receive(sock)
    message: dict[str, Any] = json.loads(buffer[:size])
    return message, fds


def _receive(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise EOFError("the peer closed the connection")
    return chunk


# ---------------------------------------------------------------- the client
class NotServed(Exception):
    """The warm process cannot run this command: run it in-process."""


def run_warm(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run ``argv`` in the warm process and return its exit status; start one for next time.

    Raises :class:`NotServed` before anything ran when the command must run here.
    """
    ident = identity()
    path = socket_path(environ, ident)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
        except OSError:
            start_server(path, environ)
            raise NotServed("no warm process yet") from None
        return _converse(sock, argv, environ, ident)
    finally:
        sock.close()


#: seconds to wait for the warm process to take a command (a stopped or stuck one is
#: not waited on forever: the command then runs in-process)
HANDSHAKE_SECONDS = 10.0


def _converse(
    sock: socket.socket, argv: Sequence[str], environ: Mapping[str, str], ident: dict[str, Any]
) -> int:
    try:
        request = {
            "identity": ident,
            "argv": list(argv),
            "cwd": os.getcwd(),
            "environ": dict(environ),
            "umask": _umask(),
            "streams": {
                name: {
                    "encoding": getattr(stream, "encoding", None),
                    "errors": getattr(stream, "errors", None),
                }
                for name, stream in (
                    ("stdin", sys.stdin),
                    ("stdout", sys.stdout),
                    ("stderr", sys.stderr),
                )
            },
        }
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError) as exc:  # no working directory, a closed stream
        raise NotServed(str(exc)) from None
    child: list[int] = []
    pending: list[int] = []

    def forward(signum: int, _frame: Any) -> None:
        if not child:
            pending.append(signum)  # sent on as soon as the child is known
            return
        with contextlib.suppress(OSError):
            os.kill(child[0], signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    sock.settimeout(HANDSHAKE_SECONDS)
    try:
        send_message(sock, request, fds=(0, 1, 2))  # EBADF when one of them is closed
        reply, _ = receive_message(sock)
    except (EOFError, OSError) as exc:
        # Nothing ran: a child whose first message (its pid) cannot reach us stops there.
        _restore_signals()
        raise NotServed(f"the warm process did not take the command: {exc}") from None
    if "pid" not in reply:
        _restore_signals()
        raise NotServed(str(reply.get("refused", "refused")))
    child.append(int(reply["pid"]))
    if "--debug" in argv or environ.get("PODIUM_DEBUG") == "1":
        sys.stderr.write(f"podium: the warm process runs this command (pid {child[0]})\n")
    for waiting in pending:
        forward(waiting, None)
    sock.settimeout(None)  # the command takes as long as it takes
    try:
        done, _ = receive_message(sock)
    except (EOFError, OSError):
        sys.stderr.write(
            "podium: the warm process running this command ended without an exit status; "
            "run it again with PODIUM_WARM=0 to run it in this process\n"
        )
        return 1
    return int(done.get("exit", 1))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _restore_signals() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def start_server(path: str, environ: Mapping[str, str]) -> None:
    """Start a warm process for the next command (this one runs in-process meanwhile)."""
    if not private_dir(os.path.dirname(path)):
        return  # someone else's directory: never put a socket there
    import subprocess

    # The same interpreter flags and sys.path as this process (`python -m podium` puts
    # its working directory first), so that the server's identity is this one's.
    boot = (
        "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
        "from podium.cli.warm_server import serve; serve(sys.argv[2])"
    )
    flags = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    with contextlib.suppress(OSError):
        subprocess.Popen(
            [sys.executable, *flags, "-c", boot, json.dumps(sys.path), path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(environ),
            close_fds=True,
            start_new_session=True,  # not in the terminal's process group: Ctrl-C is ours
        )
