"""Ports on 127.0.0.1 and waiting for servers to answer."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

HOST = "127.0.0.1"


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now.

    As servers do (PostgreSQL, redis, nginx), with SO_REUSEADDR: connections of a
    server just stopped linger in TIME_WAIT, and must not move its restart to
    another port (its recorded outputs point at this one).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def free_port(avoid: set[int] | frozenset[int] = frozenset()) -> int:
    """A port nobody listens on now; the kernel picks it, ``avoid`` skips reserved ones."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port
    raise RuntimeError("could not find a free port on 127.0.0.1")


def port_is_listening(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Call ``check`` until it returns true or ``timeout`` seconds pass; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)
