"""What ``podium status`` shows per workload, asked from Prometheus' query API."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from podium_prometheus.settings import Settings


class QueryError(Exception):
    pass


def instant(url: str, expr: str, *, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The result vector of ``expr`` now (``GET /api/v1/query``)."""
    query = urllib.parse.urlencode({"query": expr})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url.rstrip('/')}/api/v1/query?{query}", timeout=timeout) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise QueryError(f"Prometheus at {url} does not answer: {reason}") from None
    if body.get("status") != "success":
        raise QueryError(f"Prometheus refused {expr!r}: {body.get('error', body)}")
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _sum(result: list[dict[str, Any]]) -> float | None:
    if not result:
        return None
    value = float(result[0]["value"][1])
    return None if value != value else round(value, 4)  # NaN: no requests to divide by


def workload_signals(url: str, job: str, settings: Settings) -> dict[str, Any]:
    """Scraped and up, and request/error rates when the app exports HTTP metrics."""
    sel = f'job="{job}"'
    requests = settings.http_requests_metric
    up = instant(url, f"up{{{sel}}}")
    signals: dict[str, Any] = {
        "scraped": bool(up),
        "up": bool(up) and all(float(r["value"][1]) == 1 for r in up),
    }
    total = _sum(instant(url, f"sum(rate({requests}{{{sel}}}[1m]))"))
    if total is not None:
        errors = _sum(
            instant(url, f'sum(rate({requests}{{{sel},{settings.http_status_label}=~"5.."}}[1m]))')
        )
        signals["requests_per_second"] = total
        signals["errors_per_second"] = errors or 0.0
    alerts = instant(url, f'ALERTS{{{sel},alertstate="firing"}}')
    signals["firing"] = sorted({str(r["metric"].get("alertname")) for r in alerts})
    return signals
