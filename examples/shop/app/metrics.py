"""The shop's Prometheus metrics, when prometheus-client is installed (requirements.txt).

Without it the apps run exactly as before and simply export nothing: monitoring is
the platform's business (podium-prometheus), never a reason for the app to fail.
"""

import time

try:
    import prometheus_client
except ImportError:  # the shop works without monitoring
    prometheus_client = None

if prometheus_client is not None:
    # The standard HTTP metrics podium-prometheus' rules, status and dashboards read.
    REQUESTS = prometheus_client.Counter(
        "http_requests", "HTTP requests answered", ["method", "handler", "code"]
    )
    DURATION = prometheus_client.Histogram(
        "http_request_duration_seconds", "Time to answer an HTTP request", ["handler"]
    )
    ORDERS = prometheus_client.Counter("shop_orders_written", "Orders the worker wrote")


def exposition() -> tuple[bytes, str] | None:
    """The metrics page (body, content type), or ``None`` without prometheus-client."""
    if prometheus_client is None:
        return None
    return prometheus_client.generate_latest(), prometheus_client.CONTENT_TYPE_LATEST


def observe(method: str, handler: str, code: int, started: float) -> None:
    if prometheus_client is not None:
        REQUESTS.labels(method, handler, str(code)).inc()
        DURATION.labels(handler).observe(time.perf_counter() - started)


def order_written() -> None:
    if prometheus_client is not None:
        ORDERS.inc()


def serve(port: int) -> bool:
    """Serve /metrics on 127.0.0.1:port from a thread; whether it could."""
    if prometheus_client is None:
        return False
    prometheus_client.start_http_server(port, addr="127.0.0.1")
    return True
