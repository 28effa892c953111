"""One redis-server per environment, with an ACL user per resource.

Layout (``home`` = ``<env state>/local/redis``)::

    home/redis.conf    generated; holds no password
    home/users.acl     ACL users; redis stores only SHA-256 hashes of passwords
    home/admin.sealed  the admin user's password, sealed (see podium_local.sealing)
    home/server.json   the port it listens on
    home/redis.pid, home/redis.log

The ``default`` user is switched off, so every connection must authenticate.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.plugin import EnvironmentInfo, ResourceError, Secret
from podium_local.binaries import find_binary
from podium_local.files import file_lock, plugin_dir, private_dir, write_atomic
from podium_local.network import HOST, free_port, port_is_free, wait_until
from podium_local.sealing import Sealer
from podium_local.servers.process import pid_alive, read_pid, run
from podium_local.settings import Settings

if TYPE_CHECKING:
    import redis

ADMIN_USER = "podium-admin"


class RedisServer:
    def __init__(self, env: EnvironmentInfo, settings: Settings) -> None:
        self.settings = settings
        self.home = plugin_dir(env) / "redis"
        self.sealer = Sealer.for_env(env)
        self._lock = plugin_dir(env) / "redis.lock"

    @property
    def initialized(self) -> bool:
        return (self.home / "server.json").is_file()

    def _admin_password(self) -> Secret:
        path = self.home / "admin.sealed"
        if not path.exists():
            write_atomic(path, self.sealer.seal(secrets.token_urlsafe(24)))
        return self.sealer.unseal(path.read_text().strip())

    def _write_config(self, port: int) -> Path:
        password = self._admin_password().reveal()
        acl = self.home / "users.acl"
        if not acl.exists():
            digest = hashlib.sha256(password.encode()).hexdigest()
            write_atomic(
                acl,
                f"user default off\nuser {ADMIN_USER} on #{digest} ~* &* +@all\n",
            )
        conf = self.home / "redis.conf"
        lines = [
            f"port {port}",
            f"bind {HOST}",
            "protected-mode yes",
            "daemonize yes",
            f'pidfile "{self.home / "redis.pid"}"',
            f'logfile "{self.home / "redis.log"}"',
            f'dir "{self.home}"',
            'save ""',  # development data; no RDB snapshots lying around
            "appendonly no",
            f'aclfile "{acl}"',
        ]
        write_atomic(conf, "\n".join(lines) + "\n")
        return conf

    def _port(self) -> int | None:
        try:
            return int(json.loads((self.home / "server.json").read_text())["port"])
        except (FileNotFoundError, KeyError, ValueError):
            return None

    def _client(self, port: int) -> redis.Redis:
        import redis

        return redis.Redis(
            host=HOST,
            port=port,
            username=ADMIN_USER,
            password=self._admin_password().reveal(),
            socket_timeout=5,
            decode_responses=True,
        )

    def _answers(self, port: int) -> bool:
        import redis

        try:
            return bool(self._client(port).ping())
        except redis.RedisError:
            return False

    def ensure_running(self) -> int:
        """Start the server if needed and return its port; caller holds :meth:`locked`."""
        binary = find_binary(
            "redis-server", configured=self.settings.redis_server, package="redis-server"
        )
        private_dir(self.home)
        port = self._port()
        pid = read_pid(self.home / "redis.pid")
        if port and pid and pid_alive(pid) and self._answers(port):
            return port
        if not port or not port_is_free(port):
            port = free_port()
        conf = self._write_config(port)
        run([binary, str(conf)], "starting redis-server")
        write_atomic(self.home / "server.json", json.dumps({"port": port}), mode=0o644)
        if not wait_until(lambda: self._answers(port), self.settings.server_start_timeout):
            log = self.home / "redis.log"
            tail = log.read_text().splitlines()[-5:] if log.exists() else []
            raise ResourceError("redis-server did not start: " + " | ".join(tail))
        return port

    def stop_and_remove(self) -> None:
        pid = read_pid(self.home / "redis.pid")
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not pid_alive(pid), self.settings.server_start_timeout)
        shutil.rmtree(self.home, ignore_errors=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        with file_lock(self._lock):
            yield

    @contextmanager
    def admin(self) -> Iterator[tuple[redis.Redis, int]]:
        port = self.ensure_running()
        client = self._client(port)
        try:
            yield client, port
        finally:
            client.close()

    def users(self, client: redis.Redis) -> list[str]:
        names: Any = client.acl_users()
        return [n for n in names if n not in ("default", ADMIN_USER)]
