"""One supervised Prometheus per environment, on 127.0.0.1, like podium-local's servers.

``base/server.json`` records its pid, the pid's start time (so a later process that
reuses the pid is never signalled) and its port. The server runs in its own process
group and session, detached from Podium: it keeps scraping after ``podium up`` exits,
and goes when the environment's last monitored workload is removed.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from podium.plugin import ResourceError
from podium_prometheus import promtool
from podium_prometheus.settings import Settings
from podium_prometheus.supervised import HOST, SupervisedProcess, free_port, port_free

__all__ = ["HOST", "SupervisedServer", "free_port", "port_free", "reload"]


class SupervisedServer(SupervisedProcess):
    what = "Prometheus"
    health_path = "/-/ready"

    def __init__(self, base: Path, settings: Settings) -> None:
        super().__init__(base, settings, "server.json", "prometheus.log")

    def url(self) -> str | None:
        record = self.record()
        return f"http://{HOST}:{record['port']}" if record else None

    def ensure_running(self) -> str:
        """Start the server unless it runs; its URL. Hold the config directory's lock."""
        record = self.running()
        if record is not None:
            return f"http://{HOST}:{record['port']}"
        old = self.stop_recorded()  # it died or hangs: nothing of it may keep the port
        port = self.settings.port or (old or {}).get("port") or 0
        if not port or not port_free(int(port)):
            if self.settings.port:
                raise ResourceError(f"port {port} on {HOST} is taken: Prometheus cannot listen")
            port = free_port()
        binary = promtool.find(self.settings.prometheus, "prometheus")
        argv = [
            binary,
            f"--config.file={self.base / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.base / 'data'}",
            f"--web.listen-address={HOST}:{port}",
            "--web.enable-lifecycle",  # POST /-/reload after a change
            "--storage.tsdb.retention.time=15d",
        ]
        self.launch(argv, int(port))
        return f"http://{HOST}:{port}"


def reload(url: str) -> None:
    """Make the server at ``url`` read its configuration again (``POST /-/reload``)."""
    request = urllib.request.Request(f"{url.rstrip('/')}/-/reload", method="POST", data=b"")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")[:500]
        raise ResourceError(f"Prometheus at {url} refused to reload: {exc.code} {body}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ResourceError(
            f"Prometheus at {url} cannot be reloaded: {getattr(exc, 'reason', exc)}",
            hint="an existing server needs --web.enable-lifecycle for /-/reload",
        ) from exc
