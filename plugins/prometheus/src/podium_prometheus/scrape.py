"""A workload's scrape job: targets from the deploy's outputs and the Score service port."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from podium_prometheus.monitoring import Monitoring
from podium_prometheus.settings import Settings


def targets(monitoring: Monitoring, outputs: Mapping[str, Any], urls: list[str]) -> list[str]:
    """``host:port`` of the scraped port, as the deployer reported it.

    A deployer that outputs ``host`` and ``ports`` by name (podium-local, podium-podman)
    gives the exact port; otherwise the deploy's URLs stand in, in port order.
    """
    if monitoring.port is None:
        return []
    ports = outputs.get("ports")
    host = outputs.get("host")
    if isinstance(ports, Mapping) and host and monitoring.port in ports:
        return [f"{_host(str(host))}:{int(ports[monitoring.port])}"]
    found = []
    for url in urls:
        parts = urlsplit(url)
        if parts.hostname and parts.port:
            found.append(f"{_host(parts.hostname)}:{parts.port}")
    return found[:1]


def _host(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def is_loopback(target: str) -> bool:
    host = target.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def scrape_job(
    monitoring: Monitoring, found: list[str], settings: Settings, environment: str
) -> dict[str, Any]:
    """One ``scrape_configs`` entry; the labels say which Podium workload it is."""
    return {
        "job_name": monitoring.workload,
        "metrics_path": monitoring.metrics_path,
        "scrape_interval": settings.scrape_interval,
        "static_configs": [
            {
                "targets": found,
                "labels": {
                    "podium_workload": monitoring.workload,
                    "podium_environment": environment,
                },
            }
        ],
    }
