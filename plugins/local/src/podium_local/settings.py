"""``[plugins.local]`` settings in ``podium.toml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Where podium-local finds its binaries and how patient it is.

    Every field has a default that works on Debian/Ubuntu with the usual
    packages installed; set a path only when a binary lives somewhere unusual.
    """

    model_config = ConfigDict(extra="forbid")

    postgres_bin_dir: str | None = Field(
        default=None,
        description="Directory with initdb and pg_ctl; default: newest /usr/lib/postgresql/*/bin, "
        "then PATH.",
    )
    redis_server: str | None = Field(
        default=None, description="Path of redis-server; default: PATH."
    )
    nginx: str | None = Field(
        default=None, description="Path of nginx (the reverse proxy for routes); default: PATH."
    )
    route_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port nginx listens on for routes; default: a free port.",
    )
    server_start_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds to wait for postgres, redis, nginx or supervisord to start.",
    )
    readiness_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a deploy waits for every container's readiness probe.",
    )
    probe_timeout: float = Field(
        default=2.0, gt=0, description="Seconds one probe attempt may take."
    )
    stop_timeout: int = Field(
        default=10,
        ge=1,
        description="Seconds between SIGTERM and SIGKILL when a process is stopped.",
    )
    health_period: float = Field(
        default=5.0,
        ge=0,
        description="Seconds between the background health checks of each deployed workload, "
        "which 'podium status' shows with their age; 0: no background checks ('podium status' "
        "probes every time).",
    )
    start_seconds: int = Field(
        default=1, ge=0, description="Seconds a process must stay up to count as started."
    )
    start_retries: int = Field(
        default=5, ge=0, description="Failed starts supervisord retries before it gives up (FATAL)."
    )
    restart_backoff: float = Field(
        default=1.0,
        ge=0,
        description="First delay before restarting a process that crashed quickly; doubles.",
    )
    restart_backoff_max: float = Field(
        default=30.0, ge=0, description="Longest delay between restarts of a crash-looping process."
    )
    workload_user: str | None = Field(
        default=None,
        description="When podium runs as root: the user workloads run as. Default: a system "
        "user per platform and environment (podium-<platform>-<env>-<hash>), created on "
        "demand. 'root' runs them as root: then podium-local is single-tenant.",
    )
    dotenv: str | None = Field(
        default=None, description="Default dotenv file for the 'environment' resource type."
    )
