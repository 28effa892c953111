"""Fixtures for podium-podman's tests, which run real containers through real Podman.

The images come from ``scripts/podman-test-image.sh`` (a Debian rootfs with python3,
psycopg and redis made by mmdebstrap, and the shop's app on top), built once and
reused while their recipe and the app do not change. A missing podman, runc or
mmdebstrap skips the tests, except in CI (``CI`` set), where it fails them.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.plugin import EnvironmentInfo
from podium.testing import require

REPO = Path(__file__).resolve().parents[3]
SHOP = REPO / "examples" / "shop"
IMAGE_SCRIPT = REPO / "scripts" / "podman-test-image.sh"


@pytest.fixture(scope="session")
def test_images() -> dict[str, str]:
    """``{"base": ..., "shop": ...}``: the local images the tests run (built when missing)."""
    require("podman", "runc", "busybox")
    done = subprocess.run(
        ["bash", str(IMAGE_SCRIPT)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        if not shutil.which("mmdebstrap"):
            require("mmdebstrap")
        pytest.fail(f"building the test images failed:\n{done.stderr[-3000:]}")
    return dict(line.split("=", 1) for line in done.stdout.split())


def leftovers(env: EnvironmentInfo) -> list[str]:
    """Containers still labelled with this environment's scope (none after a clean test)."""
    from podium_podman.deployer import PodmanDeployer

    scope = PodmanDeployer()._scope(env)
    done = subprocess.run(
        [
            "podman",
            "ps",
            "-a",
            "--filter",
            f"label=dev.podium.scope={scope}",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.split()


def stop_everything(env: EnvironmentInfo) -> None:
    """Remove the environment's containers and stop the Podman service a test started."""
    from podium_podman.deployer import PodmanDeployer

    names = leftovers(env)
    if names:
        subprocess.run(["podman", "rm", "-f", "-t", "0", *names], capture_output=True, check=False)
    deployer = PodmanDeployer()
    deployer._service(env).stop()


@pytest.fixture
def podman_env(
    podium_env: EnvironmentInfo, test_images: dict[str, str]
) -> Iterator[EnvironmentInfo]:
    yield podium_env
    stop_everything(podium_env)
