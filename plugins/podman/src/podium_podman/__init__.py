"""podium-podman: every Score container as a real container, through Podman's API."""

from __future__ import annotations

__version__ = "0.1.0"
