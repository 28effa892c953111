"""A real PostgreSQL server for the session: initdb + pg_ctl on a free 127.0.0.1 port.

As root the server runs as the ``postgres`` user (initdb refuses root), in a
data directory that user owns. Skipped when the binaries are missing, except in
CI (``CI`` set), where a missing PostgreSQL must fail.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podium.testing import unavailable

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)


def _find_binaries() -> Path | None:
    for directory in PG_BIN_DIRS:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_postgres = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="podium-pg-test-", dir="/var/tmp"))
        self.data = self.root / "data"
        self.port = _free_port()
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        os.chmod(self.root, 0o700)

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        done = subprocess.run(
            [*prefix, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{tail}")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def restart_command(self) -> str:
        """A shell command restarting the server; ``-m fast`` cuts every session, as an upgrade does."""
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        pg_ctl = [
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
        ]
        return shlex.join([*prefix, *pg_ctl, "-m", "fast", "-w", "-t", "60", "restart"])

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _find_binaries()
    if bindir is None:
        unavailable("PostgreSQL binaries (initdb, pg_ctl) not found")
    server = PostgresServer(bindir)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(server.root, ignore_errors=True)
        raise
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dsn(postgres_server: PostgresServer) -> str:
    return postgres_server.dsn


@pytest.fixture
def schema() -> str:
    """A fresh schema per test, so tests never see each other's rows."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def sql(dsn: str) -> Iterator[Any]:
    """Run raw SQL against the test server: ``sql("SELECT ...", params) -> rows``."""
    import psycopg

    connection = psycopg.connect(dsn, autocommit=True)

    def run(query: str, params: Any = None) -> list[tuple[Any, ...]]:
        cursor = connection.execute(query, params)
        return cursor.fetchall() if cursor.description is not None else []

    yield run
    connection.close()
