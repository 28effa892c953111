"""Fixtures for podium-prometheus' tests, which run the real Prometheus and promtool.

A test that needs a binary is skipped when it is missing, except in CI (``CI`` set),
where a missing binary fails the test: CI installs the prometheus package (with
promtool), postgresql and redis-server, so missing means broken.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.testing import require

#: Debian keeps PostgreSQL's server binaries (initdb) off PATH, one directory per version.
POSTGRES_BIN = Path("/usr/lib/postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "prometheus: needs the prometheus and promtool binaries")
    config.addinivalue_line("markers", "shop: needs PostgreSQL and redis-server for the shop")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("prometheus"):
        require("prometheus", "promtool")
    if item.get_closest_marker("shop"):
        require("initdb", "redis-server", search=POSTGRES_BIN.glob("*/bin"))
