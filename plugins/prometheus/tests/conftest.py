"""Fixtures for podium-prometheus' tests, which run the real Prometheus and promtool.

A test that needs a binary is skipped when it is missing, except in CI (``CI`` set),
where a missing binary fails the test: CI installs the prometheus package (with
promtool), postgresql and redis-server, so missing means broken.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

POSTGRES_BIN = ("/usr/lib/postgresql",)


def have(binary: str) -> bool:
    if binary == "initdb":
        return any(Path(base).glob("*/bin/initdb") for base in POSTGRES_BIN) or bool(
            shutil.which("initdb")
        )
    return shutil.which(binary) is not None


def require(*binaries: str) -> None:
    for binary in binaries:
        if have(binary):
            continue
        if os.environ.get("CI"):
            pytest.fail(f"{binary} is not installed, and CI must run this test")
        pytest.skip(f"{binary} is not installed")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "prometheus: needs the prometheus and promtool binaries")
    config.addinivalue_line("markers", "shop: needs PostgreSQL and redis-server for the shop")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("prometheus"):
        require("prometheus", "promtool")
    if item.get_closest_marker("shop"):
        require("initdb", "redis-server")
