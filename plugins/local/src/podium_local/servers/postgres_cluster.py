"""One PostgreSQL cluster per environment, started from the installed server binaries.

Layout (``home`` = ``<env state>/local/postgres``)::

    home/cluster.json      where the cluster lives and which port it last used
    home/.lock             serialises cluster operations across processes
    base/data/             the cluster (initdb), owned by the server's user
    base/log/postgres.log  the server log
    base/run/              the unix socket admin connections use

``base`` is ``home`` unless the ``postgres`` account (used when we run as root)
cannot reach the state directory, e.g. under a 0700 home or pytest's temporary
directory; then it is a fresh ``/var/tmp/podium-local-pg-XXXXXXXX`` (``mkdtemp``:
an unpredictable name, so no other local user can plant it) and ``cluster.json``
remembers it. Every later use checks it is still a directory of ours, not a
symlink (see :mod:`podium_local.servers.safe_dirs`).

Admin access is the ``postgres`` superuser over the unix socket with ``trust``:
the socket's directory is private to the server's user (and root), so no
superuser password has to be stored anywhere. Applications connect over TCP on
127.0.0.1 with SCRAM passwords.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.plugin import EnvironmentInfo, ResourceError
from podium_local.binaries import postgres_binary
from podium_local.files import file_lock, plugin_dir, socket_dir, write_atomic
from podium_local.network import HOST, free_port, port_is_free
from podium_local.servers.process import as_user, run, running_as_root, user_exists
from podium_local.servers.safe_dirs import (
    check_owned,
    fresh_dir,
    give_to,
    owned_dir,
    set_mode,
    uid_of,
)
from podium_local.settings import Settings

if TYPE_CHECKING:
    import psycopg

SERVER_USER = "postgres"
SUPERUSER = "postgres"
SYSTEM_DATABASES = ("postgres", "template0", "template1")


class PostgresCluster:
    def __init__(self, env: EnvironmentInfo, settings: Settings) -> None:
        self.settings = settings
        self.home = plugin_dir(env) / "postgres"
        self._meta_path = self.home / "cluster.json"
        self._lock_path = self.home / ".lock"
        self.user = SERVER_USER if running_as_root() else None

    # --- metadata -------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        try:
            data = json.loads(self._meta_path.read_text())
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _save_meta(self, meta: dict[str, Any]) -> None:
        write_atomic(self._meta_path, json.dumps(meta, indent=2), mode=0o644)

    def _paths(self, base: Path) -> tuple[Path, Path, Path]:
        return base / "data", base / "log" / "postgres.log", socket_dir(base / "run", "pg")

    @property
    def initialized(self) -> bool:
        base = self._meta().get("base")
        return isinstance(base, str) and (Path(base) / "data" / "PG_VERSION").is_file()

    # --- lifecycle --------------------------------------------------------------
    def _choose_base(self) -> Path:
        """``home`` if the server's user can reach it, else a fresh private dir under /var/tmp."""
        self.home.mkdir(parents=True, exist_ok=True)
        if self.user is None:
            return self.home
        recorded = self._meta().get("base")  # an initdb that crashed: reuse its directory
        if isinstance(recorded, str) and os.path.lexists(recorded):
            return check_owned(Path(recorded), owners=[uid_of(self.user)])
        set_mode(self.home, 0o711)  # others may traverse, not list
        try:
            run(as_user(self.user, ["test", "-x", str(self.home)]), "checking access")
            base = self.home
        except ResourceError:
            base = fresh_dir(Path("/var/tmp"), "podium-local-pg-")
        self._save_meta({"base": str(base), "port": None})
        return base

    def _initdb(self) -> dict[str, Any]:
        if self.user and not user_exists(self.user):
            raise ResourceError(
                "running as root, PostgreSQL must run as the 'postgres' user, which does not exist",
                hint="apt-get install postgresql creates it",
            )
        initdb = postgres_binary("initdb", self.settings.postgres_bin_dir)
        base = self._choose_base()
        data, log, sockets = self._paths(base)
        server = uid_of(self.user)
        for directory in (data.parent, log.parent, sockets):
            owned_dir(directory, 0o700, owners=[server])
            give_to(directory, self.user)
            set_mode(directory, 0o700)
        if base != self.home:
            set_mode(check_owned(base, owners=[server]), 0o711)
        if data.exists():  # a half-finished initdb from a crash: start over
            shutil.rmtree(data)
        run(
            as_user(
                self.user,
                [
                    initdb,
                    "-D",
                    str(data),
                    "-U",
                    SUPERUSER,
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                ],
            ),
            "initdb",
            timeout=120,
        )
        meta = {"base": str(base), "port": None}
        self._save_meta(meta)
        return meta

    def _is_running(self, data: Path) -> bool:
        pg_ctl = postgres_binary("pg_ctl", self.settings.postgres_bin_dir)
        try:
            run(as_user(self.user, [pg_ctl, "status", "-D", str(data)]), "pg_ctl status")
        except ResourceError:
            return False
        return True

    def _start(self, meta: dict[str, Any]) -> None:
        pg_ctl = postgres_binary("pg_ctl", self.settings.postgres_bin_dir)
        base = Path(meta["base"])
        data, log, sockets = self._paths(base)
        check_owned(
            base, owners=[uid_of(self.user)]
        )  # recorded in cluster.json: still ours, still not a symlink?
        owned_dir(sockets, 0o700, owners=[uid_of(self.user)])  # /tmp may have been cleaned
        give_to(sockets, self.user)
        port = meta.get("port")
        if not port or not port_is_free(int(port)):
            port = free_port()
        # pg_ctl hands -o to a shell, hence the quoting.
        options = f"-p {port} -h {HOST} -k {shlex.quote(str(sockets))}"
        run(
            as_user(
                self.user,
                [
                    pg_ctl,
                    "start",
                    "-w",
                    "-t",
                    str(int(self.settings.server_start_timeout)),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-o",
                    options,
                ],
            ),
            f"starting PostgreSQL (log: {log})",
            timeout=self.settings.server_start_timeout + 10,
        )
        meta["port"] = port
        self._save_meta(meta)

    def ensure_running(self) -> dict[str, Any]:
        """Initialise and start the cluster as needed; caller holds :meth:`locked`."""
        meta = self._meta() if self.initialized else self._initdb()
        data, _, _ = self._paths(Path(meta["base"]))
        if not self._is_running(data) or not meta.get("port"):
            self._start(meta)
        return meta

    def stop_and_remove(self) -> None:
        """Stop the server and delete the cluster's files; caller holds :meth:`locked`."""
        meta = self._meta()
        if meta.get("base"):
            base = Path(meta["base"])
            data, _, sockets = self._paths(base)
            if self._is_running(data):
                pg_ctl = postgres_binary("pg_ctl", self.settings.postgres_bin_dir)
                run(
                    as_user(self.user, [pg_ctl, "stop", "-D", str(data), "-m", "fast", "-w"]),
                    "stopping PostgreSQL",
                )
            shutil.rmtree(sockets, ignore_errors=True)
            if base != self.home:
                shutil.rmtree(base, ignore_errors=True)
        # Keep the lock file's directory until the lock is released; remove the rest.
        for child in self.home.iterdir() if self.home.exists() else ():
            if child.name != self._lock_path.name:
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with file_lock(self._lock_path):
            yield
        # Once the cluster is gone nothing else should remain either.
        if not self._meta_path.exists():
            shutil.rmtree(self.home, ignore_errors=True)

    @contextmanager
    def admin(self) -> Iterator[tuple[psycopg.Connection[Any], int]]:
        """A superuser connection to a running cluster, and its TCP port; caller holds the lock."""
        import psycopg

        meta = self.ensure_running()
        _, _, sockets = self._paths(Path(meta["base"]))
        try:
            conn = psycopg.connect(
                host=str(sockets),
                port=int(meta["port"]),
                user=SUPERUSER,
                dbname="postgres",
                autocommit=True,
                connect_timeout=10,
            )
        except psycopg.OperationalError as exc:
            raise ResourceError(f"cannot connect to the local PostgreSQL cluster: {exc}") from None
        with conn:
            yield conn, int(meta["port"])
