"""A Grafana dashboard per workload with the four golden signals, built with Grafana's SDK.

Traffic (requests per second), errors (5xx ratio), latency (p50/p95/p99 from the
request duration histogram) and saturation (CPU and resident memory of the process,
which prometheus-client exports by default), plus availability from ``up``. The
datasource is the ``${datasource}`` variable, so the JSON imports into any Grafana.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from podium_prometheus.monitoring import Monitoring
from podium_prometheus.settings import Settings


def dashboard_file_name(workload: str) -> str:
    return f"{workload}.dashboard.json"


def _uid(environment: str, workload: str) -> str:
    # Grafana uids hold at most 40 characters: a readable prefix and a digest.
    digest = hashlib.sha256(f"{environment}/{workload}".encode()).hexdigest()[:10]
    return f"podium-{workload[:22]}-{digest}"


def dashboard(monitoring: Monitoring, settings: Settings, environment: str) -> dict[str, Any]:
    """The dashboard model as JSON-ready data."""
    from grafana_foundation_sdk.builders import dashboard as dash
    from grafana_foundation_sdk.builders import prometheus, stat, timeseries
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.dashboard import DataSourceRef

    source = DataSourceRef(type_val="prometheus", uid="${datasource}")
    job = f'job="{monitoring.workload}"'
    requests = settings.http_requests_metric
    errors = f'{job},{settings.http_status_label}=~"5.."'
    bucket = f"{settings.http_duration_metric}_bucket"

    def query(expr: str, legend: str, ref: str) -> prometheus.Dataquery:
        return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref)

    def series(title: str, unit: str, *queries: prometheus.Dataquery) -> timeseries.Panel:
        panel = timeseries.Panel().title(title).unit(unit).datasource(source).height(8).span(12)
        for item in queries:
            panel = panel.with_target(item)
        return panel

    board = (
        dash.Dashboard(f"{monitoring.workload} ({environment})")
        .uid(_uid(environment, monitoring.workload))
        .tags(["podium", f"env:{environment}", f"workload:{monitoring.workload}"])
        .refresh("30s")
        .time("now-1h", "now")
        .with_variable(dash.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
        .with_panel(
            stat.Panel()
            .title("Up")
            .datasource(source)
            .height(4)
            .span(24)
            .with_target(query(f"min(up{{{job}}})", "up", "A"))
        )
        .with_panel(
            series(
                "Traffic",
                "reqps",
                query(f"sum(rate({requests}{{{job}}}[5m]))", "requests/s", "A"),
            )
        )
        .with_panel(
            series(
                "Errors",
                "percentunit",
                query(
                    f"sum(rate({requests}{{{errors}}}[5m])) / sum(rate({requests}{{{job}}}[5m]))",
                    "5xx ratio",
                    "A",
                ),
            )
        )
        .with_panel(
            series(
                "Latency",
                "s",
                *(
                    query(
                        f"histogram_quantile({q}, sum by (le) (rate({bucket}{{{job}}}[5m])))",
                        f"p{int(q * 100)}",
                        ref,
                    )
                    for q, ref in ((0.5, "A"), (0.95, "B"), (0.99, "C"))
                ),
            )
        )
        .with_panel(
            series(
                "Saturation",
                "percentunit",
                query(f"sum(rate(process_cpu_seconds_total{{{job}}}[5m]))", "CPU", "A"),
            )
        )
        .with_panel(
            series(
                "Memory",
                "bytes",
                query(f"sum(process_resident_memory_bytes{{{job}}})", "resident", "A"),
            )
        )
    )
    data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return data
