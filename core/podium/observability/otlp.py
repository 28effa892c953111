"""OTLP/HTTP span and metric export configured from a mapping, never from the process environment.

The OpenTelemetry exporter reads ``OTEL_EXPORTER_OTLP_*`` from ``os.environ`` and merges
the host's headers into every request, so two platforms in one process could not export
to two collectors (and a host's credentials would travel to both). This exporter takes
every setting from the platform's ``environ`` and uses the SDK's protobuf encoder.
"""

from __future__ import annotations

import gzip
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

DEFAULT_ENDPOINT = "http://localhost:4318"
_RETRYABLE = frozenset({429, 502, 503, 504})
_ATTEMPTS = 3


def _setting(environ: Mapping[str, str], name: str, signal: str = "TRACES") -> str | None:
    """``OTEL_EXPORTER_OTLP_<signal>_<name>``, else ``OTEL_EXPORTER_OTLP_<name>``."""
    return (
        environ.get(f"OTEL_EXPORTER_OTLP_{signal}_{name}")
        or environ.get(f"OTEL_EXPORTER_OTLP_{name}")
        or None
    )


@dataclass(frozen=True)
class OtlpSettings:
    endpoint: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    gzip: bool = False
    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    proxies: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], signal: str = "traces") -> OtlpSettings:
        """The standard OTLP variables, read from ``environ`` (signal-specific ones first);
        ``signal`` is ``traces`` or ``metrics``."""
        from opentelemetry.util.re import parse_env_headers

        upper = signal.upper()
        endpoint = environ.get(f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT") or (
            (environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
            + f"/v1/{signal}"
        )
        try:
            timeout = float(_setting(environ, "TIMEOUT", upper) or 10)
        except ValueError:
            timeout = 10.0
        proxies = {
            scheme: value
            for scheme in ("http", "https")
            if (value := environ.get(f"{scheme}_proxy") or environ.get(f"{scheme.upper()}_PROXY"))
        }
        return cls(
            endpoint=endpoint,
            headers=dict(
                parse_env_headers(_setting(environ, "HEADERS", upper) or "", liberal=True)
            ),
            timeout=timeout,
            gzip=(_setting(environ, "COMPRESSION", upper) or "").strip().lower() == "gzip",
            certificate=_setting(environ, "CERTIFICATE", upper),
            client_certificate=_setting(environ, "CLIENT_CERTIFICATE", upper),
            client_key=_setting(environ, "CLIENT_KEY", upper),
            proxies=proxies,
        )


class OtlpHttpPoster:
    """Posts one OTLP protobuf body; retries throttling and unavailability a few times."""

    def __init__(self, settings: OtlpSettings) -> None:
        self.settings = settings
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler(settings.proxies)]
        if settings.endpoint.startswith("https"):
            context = ssl.create_default_context(cafile=settings.certificate)
            if settings.client_certificate:
                context.load_cert_chain(settings.client_certificate, settings.client_key)
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)
        self.closed = False

    def post(self, body: bytes) -> bool:
        headers = {**self.settings.headers, "Content-Type": "application/x-protobuf"}
        if self.settings.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        request = urllib.request.Request(
            self.settings.endpoint, data=body, headers=headers, method="POST"
        )
        for attempt in range(_ATTEMPTS):
            try:
                with self._opener.open(request, timeout=self.settings.timeout):
                    return True
            except urllib.error.HTTPError as exc:
                if exc.code not in _RETRYABLE:
                    return False
            except OSError:  # refused, reset, timed out: the collector may be restarting
                pass
            if attempt + 1 < _ATTEMPTS and not self.closed:
                time.sleep(0.5 * 2**attempt)
        return False


class OtlpHttpSpanExporter(SpanExporter):
    """Posts spans as OTLP protobuf; retries throttling and unavailability a few times."""

    def __init__(self, settings: OtlpSettings) -> None:
        self.settings = settings
        self._poster = OtlpHttpPoster(settings)
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        body = encode_spans(spans).SerializeToString()
        ok = self._poster.post(body)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._closed = True
        self._poster.closed = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
