"""The readiness exporter: each workload's readiness, as its deployer reports it, for Prometheus.

``up`` only says that a target answers scrapes; a workload whose process runs but
whose readiness probe fails answers them too. So next to each supervised Prometheus
the plugin runs ``python -m podium_prometheus.readiness SPEC``, which opens the same
platform (its ``podium.toml``) and asks ``Platform.status(env, probe=False)`` every
``readiness_period`` seconds: the health the deployer recorded in the background
(:meth:`Deployer.recorded_status <podium.plugin.Deployer.recorded_status>`), or its
live ``status`` for a deployer that records none. Nothing here knows which deployer
runs the workloads. It serves, on 127.0.0.1, for every deployed workload::

    podium_workload_ready{podium_workload="web",podium_environment="dev"} 1
    podium_workload_health_age_seconds{podium_workload="web",podium_environment="dev"} 2.5

``ready`` is 1 only for the state ``ready`` (``partial``, ``down`` and ``absent``
are 0); the age is how long ago that health was observed. A failed check keeps the
last answers, whose age then grows: the rules count readiness older than
``readiness_max_age`` as unknown, and unknown as not ready (fail closed). The
exporter exits when its spec file is gone (the environment's monitoring was removed).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
#: The scrape job of the exporter: not a Score name (it has an underscore), so no
#: workload's job can be called the same.
JOB = "podium_readiness"
READY = "podium_workload_ready"
AGE = "podium_workload_health_age_seconds"


@dataclass(frozen=True)
class Observation:
    """One workload's readiness and when it was observed (epoch seconds)."""

    ready: bool
    checked_at: float


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(environment: str, observed: Mapping[str, Observation], now: float) -> str:
    """The Prometheus text format of ``observed``."""
    lines = [
        f"# HELP {READY} 1 when the workload's deployer reports it ready, else 0.",
        f"# TYPE {READY} gauge",
    ]
    labels = {
        w: f'podium_workload="{_escape(w)}",podium_environment="{_escape(environment)}"'
        for w in sorted(observed)
    }
    lines += [f"{READY}{{{labels[w]}}} {int(observed[w].ready)}" for w in sorted(observed)]
    lines += [
        f"# HELP {AGE} Seconds since the workload's readiness was observed.",
        f"# TYPE {AGE} gauge",
    ]
    lines += [
        f"{AGE}{{{labels[w]}}} {max(0.0, now - observed[w].checked_at):.3f}"
        for w in sorted(observed)
    ]
    return "\n".join(lines) + "\n"


def open_platform(config_path: Path) -> Any:
    """The platform of ``config_path``, without Podium's own telemetry.

    The exporter asks for status every few seconds, forever: its calls must not
    append spans to the project's ``spans.jsonl`` or send them over OTLP.
    """
    from podium.plugin import Platform

    data = tomllib.loads(config_path.read_text(encoding="utf-8-sig"))
    data["telemetry"] = {"jsonl": False, "console": False, "otlp": False}
    return Platform(data, config_path=config_path)


def observe(platform: Any, environment: str) -> dict[str, Observation]:
    """Every deployed workload's readiness, from its deployer (recorded health first)."""
    now = time.time()
    found = {}
    for status in platform.status(environment, probe=False, signals=False):
        checked = status.checked_at.timestamp() if status.checked_at is not None else now
        found[status.workload] = Observation(status.state == "ready", checked)
    return found


class Exporter:
    """The check loop and what it last saw; the HTTP server reads :meth:`text`."""

    def __init__(
        self,
        spec_path: Path,
        spec: dict[str, Any],
        opener: Callable[[Path], Any] = open_platform,
    ) -> None:
        self.spec_path = spec_path
        self.config_path = Path(spec["config_path"])
        self.environment = str(spec["environment"])
        self.period = float(spec["period"])
        self._open = opener
        self._platform: Any = None
        self._config_mtime: float | None = None
        self._observed: dict[str, Observation] = {}
        self._lock = threading.Lock()
        self.last_error = ""

    def text(self) -> str:
        with self._lock:
            observed = dict(self._observed)
        return exposition(self.environment, observed, time.time())

    def check(self) -> None:
        """Observe once; on failure keep the last answers (their age shows it)."""
        try:
            mtime = self.config_path.stat().st_mtime
            if self._platform is None or mtime != self._config_mtime:
                self._close()
                self._platform = self._open(self.config_path)  # podium.toml changed: reread
                self._config_mtime = mtime
            observed = observe(self._platform, self.environment)
        except Exception as exc:  # any failure: keep the stale answers, the rules alert
            self.last_error = f"{type(exc).__name__}: {exc}"
            print(f"readiness check failed: {self.last_error}", file=sys.stderr, flush=True)
            self._close()  # open it again next time
            return
        self.last_error = ""
        with self._lock:
            self._observed = observed

    def _close(self) -> None:
        if self._platform is not None:
            with contextlib.suppress(Exception):  # closing a broken platform may fail too
                self._platform.close()
        self._platform = None

    def wanted(self) -> bool:
        """Whether the environment is still monitored (destroy removes the spec)."""
        return self.spec_path.exists()

    def loop(self, stop: threading.Event) -> None:
        """Check now, then every period, until the spec is gone."""
        while self.wanted():
            self.check()
            if stop.wait(self.period):
                return
        stop.set()


def _handler(exporter: Exporter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404)
                return
            body = exporter.text().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # one request per scrape: not worth a log line

    return Handler


def run(spec_path: Path) -> int:
    spec = json.loads(spec_path.read_text())
    exporter = Exporter(spec_path, spec)
    # Listen first: a slow first check (loading the platform's plugins) must not make
    # the apply that starts the exporter wait; until it ends there is simply no series.
    server = ThreadingHTTPServer((HOST, int(spec["port"])), _handler(exporter))
    stop = threading.Event()
    checker = threading.Thread(target=exporter.loop, args=(stop,), daemon=True)
    checker.start()
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        exporter._close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m podium_prometheus.readiness SPEC_FILE", file=sys.stderr)
        return 2
    return run(Path(args[0]))


if __name__ == "__main__":
    raise SystemExit(main())
