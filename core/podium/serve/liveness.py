"""Which ``podium serve`` processes are alive, so that the runs of a dead one end ``aborted``.

A server is known by the identity its runs record (``host|boot id|pid namespace|pid``).
It is certainly gone when either

* it ran on this machine (same host, boot and PID namespace) and its pid is gone: seen
  at once, by any server on that machine (the fast path, :func:`server_gone`); or
* its heartbeat is older than ``[serve] heartbeat_timeout``: every server records one in
  the server database every ``heartbeat_interval`` seconds (:class:`Heartbeat`, a
  background thread), and each server, when it starts and at each of its own beats,
  retires the silent ones (their unfinished runs become ``aborted``, their records go).

A server that stops cleanly retires itself once its runs have ended. Heartbeat times
are the database's own clock (PostgreSQL's; a SQLite store is shared on one machine
only), so the servers' clocks need not agree. A server taken for dead while it was
only stalled (longer than the timeout) records itself again at its next beat, and the
runs it then finishes record their real outcome over ``aborted``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium.serve.store import ServerStore

#: names this server's machine in its identity instead of the hostname
HOST_ID_ENV = "PODIUM_SERVE_HOST_ID"
#: why the unfinished runs of a dead server end ``aborted``
GONE = "the server running it stopped"


def server_identity(environ: Mapping[str, str]) -> str:
    """This process as runs and heartbeats record it: host|boot id|pid namespace|pid
    (the host is ``PODIUM_SERVE_HOST_ID`` when set, else the hostname)."""
    from podium.state.lease import lease_identity

    me = lease_identity()
    host = environ.get(HOST_ID_ENV) or me.host
    return f"{host}|{me.boot_id}|{me.pid_namespace}|{me.pid}"


def server_gone(server: str, me: str) -> bool:
    """Whether the server process ``server`` has certainly ended, as the server ``me``
    (both :func:`server_identity`) can tell from pids: only on the same machine."""
    from podium.state.lease import pid_alive

    theirs, mine = server.split("|"), me.split("|")
    if len(theirs) != 4 or len(mine) != 4:
        return False
    if theirs[:3] != mine[:3] or not theirs[3].isdigit():
        return False  # another machine's process: its pid says nothing here
    return theirs[3] != mine[3] and not pid_alive(int(theirs[3]))


class Heartbeat:
    """Keeps ``server``'s liveness record fresh and retires silent servers.

    :meth:`start` records the first beat and retires servers silent for ``timeout``
    seconds before returning; a thread then beats every ``interval`` seconds until
    :meth:`stop`, which retires this server (its unfinished runs end ``aborted``)."""

    def __init__(self, store: ServerStore, server: str, interval: float, timeout: float) -> None:
        self.store = store
        self.server = server
        self.interval = interval
        self.timeout = timeout
        #: servers this one retired (their identity: runs aborted), for tests and logs
        self.retired: dict[str, int] = {}
        #: how often this server found itself taken for dead (and recorded itself again)
        self.revived = 0
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.store.beat(self.server)
        self.retire_silent()
        self._thread = threading.Thread(target=self._run, name="podium-heartbeat", daemon=True)
        self._thread.start()

    def beat(self) -> None:
        """One heartbeat, then the silent servers' retirement."""
        if not self.store.beat(self.server):
            self.revived += 1
        self.retire_silent()

    def retire_silent(self) -> None:
        self.retired.update(self.store.retire_silent_servers(self.timeout, GONE))

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.beat()
            except Exception as exc:  # the database is unreachable for now: beat again later
                logging.getLogger("podium.serve").warning(
                    "podium serve: heartbeat failed (%s); trying again in %gs",
                    type(exc).__name__,
                    self.interval,
                )

    def stop(self) -> None:
        """Stop beating and retire this server (call once its runs have ended)."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, 2 * self.interval))
        self.store.retire_server(self.server, GONE)


__all__ = ["GONE", "HOST_ID_ENV", "Heartbeat", "server_gone", "server_identity"]
