"""What to monitor for one workload, read from its Score file's annotations and ports.

The same description is computed at plan time (from the Score file, for the plan's
diff) and at apply time (from the rendered workload, with the deploy's outputs for
the targets), so what the plan shows is what apply writes.

Annotations (``metadata.annotations``):

* ``podium.dev/metrics-path``: the path scraped (default ``/metrics``);
* ``podium.dev/metrics-port``: the name of the service port scraped (default the port
  named ``metrics``, else the first port);
* ``podium.dev/slo``: an availability objective in percent (``"99.9"``): adds
  multi-window, multi-burn-rate alerts on the HTTP error ratio;
* ``podium.dev/scrape: "false"``: no scrape job (rules and dashboard still rendered).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

METRICS_PATH = "podium.dev/metrics-path"
METRICS_PORT = "podium.dev/metrics-port"
SLO = "podium.dev/slo"
SCRAPE = "podium.dev/scrape"

#: A URL path Prometheus can scrape: no query, fragment, spaces or quotes.
_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")
_SLO = re.compile(r"^\d{1,2}(\.\d{1,4})?$")
#: Score's rule for metadata.name; names go into file names and PromQL label matchers.
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$")


class MonitoringError(ValueError):
    """An annotation holds a value the plugin cannot use; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Monitoring:
    """The monitoring one workload gets."""

    workload: str
    metrics_path: str
    #: the service port scraped, or ``None`` (no port, or scraping switched off)
    port: str | None
    #: the availability objective in percent, or ``None``
    slo: float | None

    @property
    def error_budget(self) -> float | None:
        """The allowed error ratio (``0.001`` for 99.9 %)."""
        return None if self.slo is None else round(1 - self.slo / 100, 10)

    def describe(self) -> dict[str, Any]:
        """JSON for the plan: the observability node's spec shows it and diffs it."""
        return {
            "job": self.workload,
            "metrics_path": self.metrics_path,
            "port": self.port,
            "slo": self.slo,
            "alerts": alert_names(self),
        }


def alert_names(monitoring: Monitoring) -> list[str]:
    names = ["PodiumWorkloadDown"]
    if monitoring.slo is not None:
        names += ["PodiumSLOErrorBudgetBurnFast", "PodiumSLOErrorBudgetBurnSlow"]
    return names


def read_monitoring(
    name: str, annotations: Mapping[str, str], ports: Mapping[str, Any]
) -> Monitoring:
    """The workload's monitoring; :class:`MonitoringError` for an unusable annotation."""
    if not _NAME.match(name):  # Score's schema guarantees it; checked again before use
        raise MonitoringError(f"workload name {name!r} is not a Score name", "metadata.name")
    path = str(annotations.get(METRICS_PATH, "/metrics"))
    if not _PATH.match(path) or len(path) > 512:
        raise MonitoringError(
            f"{METRICS_PATH} {path!r} is not a URL path (it starts with / and has no "
            "query, spaces or quotes)",
            METRICS_PATH,
        )
    scrape = str(annotations.get(SCRAPE, "true")).lower()
    if scrape not in ("true", "false"):
        raise MonitoringError(f'{SCRAPE} must be "true" or "false", not {scrape!r}', SCRAPE)
    port = _scraped_port(annotations, ports) if scrape == "true" else None
    return Monitoring(workload=name, metrics_path=path, port=port, slo=_slo(annotations))


def _scraped_port(annotations: Mapping[str, str], ports: Mapping[str, Any]) -> str | None:
    wanted = annotations.get(METRICS_PORT)
    if wanted is not None:
        if wanted not in ports:
            known = ", ".join(sorted(ports)) or "none"
            raise MonitoringError(
                f"{METRICS_PORT} names port {wanted!r}, which is not in service.ports "
                f"(ports: {known})",
                METRICS_PORT,
            )
        return str(wanted)
    if "metrics" in ports:
        return "metrics"
    return next(iter(ports), None)


def _slo(annotations: Mapping[str, str]) -> float | None:
    raw = annotations.get(SLO)
    if raw is None:
        return None
    text = str(raw).strip()
    value = float(text) if _SLO.match(text) else 0.0
    if not 0 < value < 100:
        raise MonitoringError(
            f'{SLO} {text!r} is not an objective in percent between 0 and 100 (like "99.9")',
            SLO,
        )
    return value
