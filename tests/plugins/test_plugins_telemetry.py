"""Podium's own tracer provider: JSONL file export, OTLP/HTTP export, no secret leaks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from opentelemetry import trace

from podium.observability.telemetry import is_recording, make_tracer_provider, read_spans
from podium.security.secret import Secret


def test_no_exporter_means_no_provider() -> None:
    assert make_tracer_provider("podium", environ={}) is None
    assert not is_recording(None)
    assert not is_recording(trace.NoOpTracerProvider())
    assert not is_recording(trace.ProxyTracerProvider())


def test_jsonl_export_redacts_secrets(tmp_path: Path) -> None:
    path = tmp_path / "spans" / "spans.jsonl"
    provider = make_tracer_provider("acme-platform", jsonl_path=path, environ={})
    assert provider is not None and is_recording(provider)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("outer"), tracer.start_as_current_span("inner") as span:
        span.set_attribute("podium.node", "resource:postgres.default#web.db")
        span.set_attribute("password", str(Secret("hunter2")))
    provider.shutdown()
    spans = {s["name"]: s for s in read_spans(path)}
    assert set(spans) == {"outer", "inner"}
    assert spans["inner"]["parent_span_id"] == spans["outer"]["span_id"]
    assert spans["inner"]["attributes"]["podium.node"] == "resource:postgres.default#web.db"
    assert spans["inner"]["resource"]["service.name"] == "acme-platform"
    assert "hunter2" not in path.read_text()
    # The global provider was never replaced.
    assert not isinstance(trace.get_tracer_provider(), type(provider))


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Receiver.bodies.append((self.path, self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_otlp_http_export_when_endpoint_is_set(
    receiver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver)
    provider = make_tracer_provider("podium-otlp")
    assert provider is not None
    with provider.get_tracer("test").start_as_current_span("podium.hook/podium_event") as span:
        span.set_attribute("podium.plugin", "good")
    provider.shutdown()
    [(path, body)] = _Receiver.bodies
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest.FromString(body)
    exported = request.resource_spans[0].scope_spans[0].spans[0]
    assert exported.name == "podium.hook/podium_event"
    assert exported.attributes[0].key == "podium.plugin"
