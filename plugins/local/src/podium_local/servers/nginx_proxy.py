"""One nginx per environment as the reverse proxy behind ``route`` resources.

Routes live in ``<env state>/local/nginx/routes.json``; ``nginx.conf`` is
generated from them and the port registry, so a route can be created before
its workload is deployed: until the workload has a port, its locations answer
502, and the deployer calls :func:`refresh_routes` after every deploy.

One nginx serves every workload of the environment, so one bad route must not
take the others down: a new configuration is written to a temporary file and
checked with ``nginx -t`` before ``routes.json`` records the route; stored
routes that fail today's checks (written by an older version) are left out of
the configuration; and a refresh that fails is logged, never raised, so it
cannot block an unrelated deploy or destroy.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from podium.plugin import EnvironmentInfo, ResourceError
from podium_local.binaries import find_binary
from podium_local.files import file_lock, plugin_dir, private_dir, write_atomic
from podium_local.network import HOST, free_port, port_is_free, port_is_listening, wait_until
from podium_local.ports import PortRegistry
from podium_local.servers.process import pid_alive, read_pid, run, running_as_root
from podium_local.servers.route_rules import check_claim, is_valid
from podium_local.settings import Settings

log = logging.getLogger(__name__)


class NginxProxy:
    def __init__(self, env: EnvironmentInfo, settings: Settings) -> None:
        self.env = env
        self.settings = settings
        self.home = plugin_dir(env) / "nginx"
        self.lock = plugin_dir(env) / "nginx.lock"
        self._routes_path = self.home / "routes.json"
        self._conf = self.home / "nginx.conf"

    # --- routes -----------------------------------------------------------------
    def routes(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self._routes_path.read_text())
        except FileNotFoundError:
            return {}
        return data.get("routes", {}) if isinstance(data, dict) else {}

    def port(self) -> int | None:
        try:
            return int(json.loads(self._routes_path.read_text())["port"])
        except (FileNotFoundError, KeyError, TypeError, ValueError):
            return None

    def _save(self, routes: dict[str, dict[str, Any]], port: int) -> None:
        write_atomic(
            self._routes_path, json.dumps({"port": port, "routes": routes}, indent=2), 0o644
        )

    def put_route(self, uid: str, route: dict[str, Any]) -> int:
        """Add or replace a route and (re)load nginx; return the port nginx listens on.

        Nothing is saved unless nginx accepts the configuration with the route in it.
        """
        binary = self._binary()
        private_dir(self.home)
        routes = self.routes()
        check_claim(routes, uid, route)
        first = not routes
        routes[uid] = route
        port = self.port() or self.settings.route_port or free_port()
        try:
            self._apply(binary, routes, port)
        except ResourceError:
            if first and not self.routes():  # leave no half-made proxy directory behind
                shutil.rmtree(self.home, ignore_errors=True)
            raise
        return port

    def remove_route(self, uid: str) -> None:
        """Forget a route and reload nginx; a reload that fails is logged, not raised.

        Removing a route must always succeed: it is how a destroy gets rid of it,
        even when something else made the configuration unusable.
        """
        routes = self.routes()
        if uid not in routes:
            return
        del routes[uid]
        if not routes:
            self.stop_and_remove()
            return
        port = self.port()
        assert port is not None
        self._save(routes, port)
        try:
            self._apply(self._binary(), routes, port)
        except ResourceError as exc:
            log.warning("podium-local: nginx keeps its previous routes: %s", exc)

    # --- nginx ----------------------------------------------------------------
    def _binary(self) -> str:
        return find_binary("nginx", configured=self.settings.nginx, package="nginx")

    def render(
        self, routes: dict[str, dict[str, Any]] | None = None, port: int | None = None
    ) -> str:
        """The nginx config for ``routes`` (default: the saved ones) and the port allocations."""
        registry = PortRegistry.for_env(self.env)
        routes = self.routes() if routes is None else routes
        port = self.port() if port is None else port
        by_host: dict[str, list[tuple[str, int | None]]] = {}
        for uid, route in routes.items():
            if not is_valid(route):
                log.warning("podium-local: route %s is not valid and is left out of nginx", uid)
                continue
            upstream = registry.lookup(route["workload"], route["port"])
            by_host.setdefault(route["host"], []).append((route["path"], upstream))
        home = self.home
        servers = []
        for host, locations in sorted(by_host.items()):
            blocks = []
            # Longest prefix first for readability; nginx picks the longest match anyway.
            for path, upstream in sorted(locations, key=lambda item: -len(item[0])):
                if upstream is None:
                    body = '            return 502 "podium: the workload behind this route is not running\\n";'
                else:
                    body = (
                        f"            proxy_pass http://{HOST}:{upstream};\n"
                        "            proxy_set_header Host $host;\n"
                        "            proxy_set_header X-Forwarded-For $remote_addr;"
                    )
                blocks.append(f"        location {path} {{\n{body}\n        }}")
            servers.append(
                f"    server {{\n        listen {HOST}:{port};\n        server_name {host};\n"
                + "\n".join(blocks)
                + "\n    }"
            )
        user = "user root root;\n" if running_as_root() else ""
        return (
            f"# Generated by podium-local from {self._routes_path.name}; edits are overwritten.\n"
            f"{user}daemon on;\nworker_processes 1;\npid {home}/nginx.pid;\n"
            f"error_log {home}/error.log warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            # Room for many hosts of up to 253 characters (the default fits ~40 short ones).
            "    server_names_hash_bucket_size 512;\n"
            "    server_names_hash_max_size 8192;\n"
            f"    access_log {home}/access.log;\n"
            f"    client_body_temp_path {home}/tmp/body;\n"
            f"    proxy_temp_path {home}/tmp/proxy;\n"
            f"    fastcgi_temp_path {home}/tmp/fastcgi;\n"
            f"    uwsgi_temp_path {home}/tmp/uwsgi;\n"
            f"    scgi_temp_path {home}/tmp/scgi;\n" + "\n".join(servers) + "\n}\n"
        )

    def _apply(self, binary: str, routes: dict[str, dict[str, Any]], port: int) -> None:
        """Check the config for ``routes`` with ``nginx -t``; only then save, swap in and load it."""
        (self.home / "tmp").mkdir(parents=True, exist_ok=True)
        fd, candidate = tempfile.mkstemp(dir=self.home, prefix=".nginx.conf.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(self.render(routes, port))
            run(
                [binary, "-p", str(self.home), "-c", candidate, "-t"],
                "checking the nginx config",
            )
            self._save(routes, port)
            os.chmod(candidate, 0o644)
            os.replace(candidate, self._conf)
        finally:
            Path(candidate).unlink(missing_ok=True)
        base = [binary, "-p", str(self.home), "-c", str(self._conf)]
        pid = read_pid(self.home / "nginx.pid")
        if pid and pid_alive(pid):
            # A reload is asynchronous: old workers keep the old config until new
            # ones are up. Wait for a new worker so callers see the new routes.
            before = _children(pid)
            run([*base, "-s", "reload"], "reloading nginx")

            def switched() -> bool:
                now = _children(pid)
                return bool(now - before) and not (now & before)

            # Old workers exit once their requests finish; until then they may
            # still accept connections with the old config.
            wait_until(switched, self.settings.server_start_timeout)
            return
        if not port_is_free(port):
            raise ResourceError(f"nginx cannot listen on 127.0.0.1:{port}: the port is in use")
        run(base, "starting nginx")
        if not wait_until(lambda: port_is_listening(port), self.settings.server_start_timeout):
            raise ResourceError(f"nginx did not start; see {self.home / 'error.log'}")

    def refresh(self) -> None:
        """Regenerate and reload after ports changed (a workload was deployed or destroyed)."""
        routes, port = self.routes(), self.port()
        if routes and port is not None:
            self._apply(self._binary(), routes, port)

    def stop_and_remove(self) -> None:
        pid = read_pid(self.home / "nginx.pid")
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGQUIT)  # graceful: finish requests in flight
            if not wait_until(lambda: not pid_alive(pid), self.settings.stop_timeout):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.home, ignore_errors=True)


def _children(pid: int) -> set[int]:
    """Process ids whose parent is ``pid`` (nginx's workers), from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            found.add(int(stat.parent.name))
    return found


def refresh_routes(env: EnvironmentInfo, settings: Settings) -> None:
    """Point routes at the current ports; a failure is logged, never raised.

    The deployer calls this after every deploy and destroy. Routes are not the
    deployed workload's business alone: a problem with nginx (or with another
    workload's route) must not fail an unrelated deploy or destroy.
    """
    proxy = NginxProxy(env, settings)
    if not Path(proxy._routes_path).exists():
        return
    try:
        with file_lock(proxy.lock):
            proxy.refresh()
    except ResourceError as exc:
        log.warning("podium-local: routes not refreshed: %s", exc)
