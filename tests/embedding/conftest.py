"""Fixtures for the embedding guarantees: a platform built in-process, as a host program would.

The plugin is the engine tests' real on-disk fake (directories as resources, a JSON-file
deployer), handed to the platform in-process; no entry points, no CLI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from embedding_project import ENGINE_TESTS, SCORE, config


@pytest.fixture
def fake_plugin() -> Iterator[Any]:
    sys.path.insert(0, str(ENGINE_TESTS))
    try:
        import fake_platform

        yield fake_platform
    finally:
        sys.path.remove(str(ENGINE_TESTS))


@pytest.fixture
def score(tmp_path: Path) -> Path:
    path = tmp_path / "web.score.yaml"
    path.write_text(SCORE)
    return path


@pytest.fixture
def make_platform(tmp_path: Path, fake_plugin: Any) -> Iterator[Callable[..., Any]]:
    """Build platforms rooted in ``tmp_path`` (closed at the end of the test)."""
    from podium.api import Platform

    made: list[Platform] = []

    def make(
        *, name: str = "embed", plugins: tuple[Any, ...] = (), telemetry: Any = None, **kwargs: Any
    ) -> Platform:
        platform = Platform(
            config(name, **(telemetry or {})),
            root=tmp_path,
            plugins=[("fake", fake_plugin), *plugins],
            load_entrypoints=False,
            **kwargs,
        )
        made.append(platform)
        return platform

    yield make
    for platform in made:
        platform.close()
