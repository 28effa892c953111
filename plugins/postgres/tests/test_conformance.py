"""The core's StateBackendConformance kit against a real PostgreSQL server."""

from __future__ import annotations

from typing import Any

import pytest

from podium.testing.conformance import StateBackendConformance
from podium_postgres.store import PostgresStateBackend


class TestPostgresStateBackend(StateBackendConformance):
    @pytest.fixture
    def state_backend(self) -> PostgresStateBackend:
        return PostgresStateBackend()

    @pytest.fixture
    def state_options(self, dsn: str, schema: str) -> dict[str, Any]:
        return {"dsn": dsn, "schema": schema}
