"""Fixtures for the resource schema tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from schema_project import SchemaProject


@pytest.fixture
def project(tmp_path: Path) -> SchemaProject:
    """A platform with the sample plugins ``objstore`` and ``legacy`` installed."""
    return SchemaProject(tmp_path / "platform")
