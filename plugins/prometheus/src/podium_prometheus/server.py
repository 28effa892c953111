"""One supervised Prometheus per environment, on 127.0.0.1, like podium-local's servers.

``base/server.json`` records its pid, the pid's start time (so a later process that
reuses the pid is never signalled) and its port. The server runs in its own process
group and session, detached from Podium: it keeps scraping after ``podium up`` exits,
and goes when the environment's last monitored workload is removed.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from podium.plugin import (
    ResourceError,
    probe_http,
    process_start_time,
    stop_process_group,
    tail_lines,
    write_atomic,
)
from podium_prometheus import promtool
from podium_prometheus.settings import Settings

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


class SupervisedServer:
    def __init__(self, base: Path, settings: Settings) -> None:
        self.base = base
        self.settings = settings

    @property
    def record_file(self) -> Path:
        return self.base / "server.json"

    @property
    def log_file(self) -> Path:
        return self.base / "prometheus.log"

    def record(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.record_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data

    def url(self) -> str | None:
        record = self.record()
        return f"http://{HOST}:{record['port']}" if record else None

    def running(self) -> dict[str, Any] | None:
        """The record of a server that runs (same pid and start time) and answers."""
        record = self.record()
        if record is None:
            return None
        if process_start_time(int(record["pid"])) != record.get("start_time"):
            return None
        if not probe_http(f"http://{HOST}:{record['port']}/-/ready", timeout=2):
            return None
        return record

    def ensure_running(self) -> str:
        """Start the server unless it runs; its URL. Hold the config directory's lock."""
        record = self.running()
        if record is not None:
            return f"http://{HOST}:{record['port']}"
        old = self.record()
        if old is not None:  # it died or hangs: nothing of it may keep the port
            stop_process_group(int(old["pid"]), started=old.get("start_time"), timeout=5)
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
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopped as one, not by Ctrl-C
            )
        started = process_start_time(process.pid)
        write_atomic(
            self.record_file,
            json.dumps({"pid": process.pid, "start_time": started, "port": port}),
            mode=0o644,
        )
        url = f"http://{HOST}:{port}"
        deadline = time.monotonic() + self.settings.start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if probe_http(f"{url}/-/ready", timeout=2):
                return url
            time.sleep(0.1)
        stop_process_group(process.pid, started=started, timeout=5)
        raise ResourceError(
            "Prometheus did not start: " + " | ".join(tail_lines(self.log_file, 5)),
            hint=f"its log: {self.log_file}",
        )

    def stop(self) -> None:
        record = self.record()
        if record is not None:
            stop_process_group(int(record["pid"]), started=record.get("start_time"), timeout=10)
        self.record_file.unlink(missing_ok=True)


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
