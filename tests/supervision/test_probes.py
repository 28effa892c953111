"""HTTP and exec probes against a real HTTP server on 127.0.0.1 and real commands."""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.plugin import (
    HttpProbe,
    Probe,
    http_probe_url,
    probe_exec,
    probe_http,
    run_probe,
)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
        elif self.path == "/ok":
            self.send_response(200)
        elif self.path == "/header":
            wanted = self.headers.get("X-Probe") == "yes"
            self.send_response(200 if wanted else 403)
        else:
            self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_http_probe_passes_on_2xx_and_3xx_and_fails_otherwise(server: int) -> None:
    base = f"http://127.0.0.1:{server}"
    assert probe_http(f"{base}/ok", timeout=5).ok
    assert probe_http(f"{base}/redirect", timeout=5).ok
    failed = probe_http(f"{base}/broken", timeout=5)
    assert not failed and failed.message == f"HTTP GET {base}/broken returned 503"
    assert probe_http(f"{base}/header", timeout=5, headers={"X-Probe": "yes"}).ok
    assert not probe_http(f"{base}/header", timeout=5).ok


def test_http_probe_names_a_refused_connection(server: int) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        result = probe_http(f"http://127.0.0.1:{port}/", timeout=2)
    assert not result.ok and "failed" in result.message


def test_http_probe_ignores_proxy_settings(server: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setenv("no_proxy", "")
    assert probe_http(f"http://127.0.0.1:{server}/ok", timeout=5).ok


def test_exec_probe_passes_fails_times_out_and_reports_a_missing_command(tmp_path: Path) -> None:
    assert probe_exec(["true"], timeout=5).ok
    failed = probe_exec([sys.executable, "-c", "print('not yet'); raise SystemExit(3)"], timeout=5)
    assert not failed.ok and "exited 3: not yet" in failed.message
    slow = probe_exec(["sleep", "30"], timeout=0.5)
    assert not slow.ok and "timed out" in slow.message
    missing = probe_exec(["no-such-probe-command"], timeout=5)
    assert not missing.ok and "not found" in missing.message
    seen = probe_exec(
        [sys.executable, "-c", "import os; raise SystemExit(os.environ['X'] != 'y')"],
        timeout=5,
        env={"X": "y"},
        cwd=str(tmp_path),
    )
    assert seen.ok


def test_a_contract_probe_maps_its_port_and_runs_both_checks(server: int) -> None:
    get = HttpProbe(port=8080, path="ok")
    assert http_probe_url(get, ports={8080: server}) == f"http://127.0.0.1:{server}/ok"
    assert run_probe(Probe(http_get=get), timeout=5, ports={8080: server}).ok
    both = Probe(http_get=get, exec_command=["false"])
    assert not run_probe(both, timeout=5, ports={8080: server}).ok
    assert run_probe(Probe(), timeout=5).message == "no probe"
