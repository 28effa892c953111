from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from podium.platform.context import EnvironmentInfo
from podium.platform.contract import ResourceRecord
from podium.state import SqliteStateBackend, SqliteStateStore


@pytest.fixture
def env(tmp_path: Path) -> EnvironmentInfo:
    return EnvironmentInfo(platform="acme", environment="dev", state_dir=tmp_path / "dev")


@pytest.fixture
def store(env: EnvironmentInfo) -> Iterator[SqliteStateStore]:
    opened = SqliteStateBackend().open(env, {})
    yield opened
    opened.close()


@pytest.fixture(name="make_record")
def make_record_fixture() -> Callable[..., ResourceRecord]:
    return make_record


def make_record(uid: str = "resource:postgres.default#web.db", **changes: object) -> ResourceRecord:
    data: dict[str, object] = {
        "uid": uid,
        "kind": "resource",
        "provider": "postgres",
        "plugin": "podium-local",
        "spec": {"type": "postgres", "params": {"version": "16"}},
        "spec_hash": "abc123",
        "outputs": {"host": "127.0.0.1", "port": 5432},
        "physical_name": "acme-dev-web-db-12345678",
        "depends_on": ["resource:net#web.net"],
        "updated_at": "2024-05-01T10:00:00.000000Z",
    }
    data.update(changes)
    return ResourceRecord(**data)  # type: ignore[arg-type]
