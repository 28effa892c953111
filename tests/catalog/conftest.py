"""Fixtures for the catalog tests: the engine tests' platform directory with its fake plugin."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

_ENGINE_CONFTEST = Path(__file__).parent.parent / "engine" / "conftest.py"


def _project_class() -> Any:
    spec = importlib.util.spec_from_file_location("podium_engine_test_project", _ENGINE_CONFTEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Project


@pytest.fixture
def project(tmp_path: Path) -> Any:
    return _project_class()(tmp_path / "platform")
