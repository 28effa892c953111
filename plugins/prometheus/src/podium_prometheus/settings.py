"""``[plugins.prometheus]`` in ``podium.toml``."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Prometheus' duration syntax (``30s``, ``1m``, ``1h30m``), as its config accepts it.
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")

Mode = Literal["auto", "supervised", "external", "render"]


def check_duration(value: str) -> str:
    if value != "0s" and not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a Prometheus duration (like 15s, 1m, 1h30m)")
    return value


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Mode = Field(
        default="auto",
        description="How each environment's Prometheus runs: ``supervised`` (this plugin "
        "starts one per environment on 127.0.0.1 and reloads it on change), ``external`` "
        "(an existing server that reads ``config_dir`` and is reloaded through ``url``), "
        "``render`` (write the configuration only), or ``auto``: supervised when the "
        "workload's scrape targets are on this machine (podium-local), else render.",
    )
    environments: dict[str, Mode] = Field(
        default_factory=dict,
        description="A mode per environment name, overriding ``mode``.",
    )
    url: str | None = Field(
        default=None,
        description="``external`` mode: the existing server's base URL (its ``/-/reload`` "
        "needs ``--web.enable-lifecycle``), also queried by ``podium status``.",
    )
    config_dir: str | None = Field(
        default=None,
        description="``external`` mode: where to write ``prometheus.yml`` and the rule, "
        "test and dashboard files (one subdirectory per platform and environment); the "
        "server runs with ``--config.file`` pointing at that ``prometheus.yml``. Other "
        "modes write under the environment's state directory.",
    )
    prometheus: str = Field(
        default="prometheus", description="The Prometheus binary (``supervised`` mode)."
    )
    promtool: str = Field(
        default="promtool",
        description="The promtool binary: every generated file is checked with it before "
        "a server reads it (``check config``, ``check rules``, ``test rules``).",
    )
    port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="``supervised`` mode: the port on 127.0.0.1 (0: a free one, kept).",
    )
    scrape_interval: str = Field(default="5s", description="How often targets are scraped.")
    evaluation_interval: str = Field(default="5s", description="How often rules run.")
    availability_for: str = Field(
        default="1m",
        description="How long a workload must be down (``up == 0`` or not scraped) before "
        "its availability alert fires; pending until then.",
    )
    readiness: bool = Field(
        default=True,
        description="Where this plugin supervises the environment's Prometheus (and the "
        "platform has a ``podium.toml``): a workload is available only when it is scraped "
        "and up *and* its deployer reports it ready (``podium_workload_ready``, served by a "
        "readiness exporter the plugin runs beside Prometheus); no fresh readiness counts as "
        "not ready. ``false``: availability from ``up`` alone, as in rendered configurations.",
    )
    readiness_period: float = Field(
        default=5.0,
        gt=0,
        description="Seconds between the readiness exporter's questions to the deployers "
        "(``Platform.status`` with the health they recorded in the background).",
    )
    readiness_max_age: str = Field(
        default="1m",
        description="Readiness observed longer ago than this counts as unknown, so as not "
        "ready (the exporter or the deployer's health checks stopped).",
    )
    http_requests_metric: str = Field(
        default="http_requests_total",
        description="The counter of HTTP requests the apps export (request and error "
        "rates, SLO burn rates).",
    )
    http_status_label: str = Field(
        default="code", description="Its label holding the HTTP status code."
    )
    http_duration_metric: str = Field(
        default="http_request_duration_seconds",
        description="The histogram of request durations (the dashboard's latency panel).",
    )
    start_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for a supervised server to be ready."
    )

    @field_validator(
        "scrape_interval", "evaluation_interval", "availability_for", "readiness_max_age"
    )
    @classmethod
    def _duration(cls, value: str) -> str:
        return check_duration(value)

    @field_validator("http_requests_metric", "http_status_label", "http_duration_metric")
    @classmethod
    def _metric_name(cls, value: str) -> str:
        if not re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", value):
            raise ValueError(f"{value!r} is not a Prometheus metric or label name")
        return value

    def mode_for(self, environment: str) -> Mode:
        return self.environments.get(environment, self.mode)
