"""``[plugins.podman]`` settings in ``podium.toml``, and the per-environment image map."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Where podium-podman finds Podman and how patient it is.

    With no ``socket`` the plugin starts ``podman system service`` itself, one per
    environment, with a ``containers.conf`` of its own (``runtime``, ``ulimits``).
    """

    model_config = ConfigDict(extra="forbid")

    socket: str | None = Field(
        default=None,
        description="The API socket to use (``unix:///run/podman/podman.sock``); default: a "
        "Podman service the plugin starts in the environment's state directory.",
    )
    podman: str = Field(
        default="podman", description="The podman binary that serves the API when no socket is set."
    )
    runtime: str = Field(
        default="runc", description="OCI runtime the started service uses (containers.conf)."
    )
    ulimits: list[str] = Field(
        default_factory=lambda: ["nofile=1024:1024", "nproc=1000:1000"],
        description="Default ulimits of the containers (containers.conf ``default_ulimits``).",
    )
    service_start_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to wait for the started service's socket."
    )
    readiness_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a deploy waits for every container's readiness probe.",
    )
    probe_timeout: float = Field(
        default=3.0, gt=0, description="Seconds one probe attempt may take."
    )
    start_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Seconds a container a deploy started must stay up to count as started "
        "(one that exits sooner fails the deploy), when it has no readiness probe: with one, "
        "its first pass counts.",
    )
    stop_timeout: int = Field(
        default=10, ge=0, description="Seconds between SIGTERM and SIGKILL when a container stops."
    )
    liveness_interval: float = Field(
        default=10.0,
        gt=0,
        description="Seconds between two liveness checks of a container (Score "
        "``livenessProbe``, Podman's health check with a restart on failure).",
    )
    liveness_retries: int = Field(
        default=3,
        ge=1,
        description="Liveness checks that must fail in a row before Podman restarts the container.",
    )
    liveness_start_period: float = Field(
        default=0.0,
        ge=0,
        description="Seconds after a container starts during which failed liveness checks "
        "do not count (for applications slow to start).",
    )
    liveness_timer: bool = Field(
        default=True,
        description="Run the liveness checks on time from a small process podium-podman "
        "starts per environment. Podman schedules health checks with systemd timers, which "
        "need systemd as init; set false where they run (else checks run twice as often).",
    )
    secret_shell: str = Field(
        default="/bin/busybox",
        description="A statically linked busybox on this machine, mounted read-only into "
        "containers that get secret variables: it loads them from a Podman secret file and "
        "then runs the container's command (so secrets never sit in the container's config).",
    )


class EnvironmentOptions(BaseModel):
    """``[environments.<env>.settings.podman]``: what this environment runs containers with."""

    model_config = ConfigDict(extra="forbid")

    images: dict[str, str] = Field(
        default_factory=dict,
        description='Score image -> local image (``"python:3.11-slim" = '
        '"localhost/shop:1"``): Score files stay unchanged where no registry is reachable.',
    )
    restart: str = Field(
        default="always",
        pattern="^(always|on-failure|unless-stopped|no)$",
        description="Restart policy of service containers (jobs others wait to complete "
        "restart on failure only).",
    )

    @classmethod
    def of(cls, settings: dict[str, Any]) -> EnvironmentOptions:
        return cls.model_validate(settings.get("podman") or {})
