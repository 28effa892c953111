from __future__ import annotations

import json
import sys

from plugin_samples import SampleFactory, by_name, make_manager

from podium.errors import IncompatiblePluginError
from podium.plugins.discovery import clear_cache, discover
from podium.plugins.lock import fingerprint, read_lock, write_lock


def _lock(tmp_path, names: set[str]):  # type: ignore[no-untyped-def]
    path = tmp_path / "podium.lock"
    write_lock(path, [fingerprint(c) for c in discover() if c.name in names])
    return path


def test_lock_is_deterministic_and_records_files(sample_dist: SampleFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dist = sample_dist("good")
    path = _lock(tmp_path, {"good"})
    first = path.read_bytes()
    path = _lock(tmp_path, {"good"})
    assert path.read_bytes() == first
    data = json.loads(first)
    entry = data["plugins"]["good"]
    assert entry["distribution"] == "podium-sample-good"
    assert entry["version"] == "1.0.0"
    assert f"{dist.package}/__init__.py" in entry["files"]
    assert len(entry["sha256"]) == 64
    assert read_lock(path)["good"].sha256 == entry["sha256"]


def test_unchanged_plugin_loads_with_the_lock(sample_dist: SampleFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sample_dist("good")
    path = _lock(tmp_path, {"good"})
    assert by_name(make_manager(allow=["good"], lock_path=path))["good"].status == "loaded"


def test_changed_version_is_refused(sample_dist: SampleFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dist = sample_dist("good")
    path = _lock(tmp_path, {"good"})
    dist.set_version("1.1.0")
    info = by_name(make_manager(allow=["good"], lock_path=path))["good"]
    assert info.status == "failed"
    assert isinstance(info.error, IncompatiblePluginError)
    assert "version changed: 1.0.0 -> 1.1.0" in str(info.error)
    assert dist.package not in sys.modules  # refused before import


def test_changed_files_are_refused(sample_dist: SampleFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dist = sample_dist("good")
    path = _lock(tmp_path, {"good"})
    dist.module_file.write_text(dist.module_file.read_text() + "\n# tampered\n")
    (dist.site / dist.package / "extra.py").write_text("x = 1\n")
    clear_cache()
    info = by_name(make_manager(allow=["good"], lock_path=path))["good"]
    assert info.status == "failed"
    assert "2 files changed since locked" in str(info.error)
    assert f"{dist.package}/__init__.py" in str(info.error)
    assert dist.package not in sys.modules


def test_plugin_missing_from_lock_is_refused(sample_dist: SampleFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sample_dist("good")
    path = _lock(tmp_path, {"good"})
    sample_dist("old_api")
    info = by_name(make_manager(allow=["good", "old-api"], lock_path=path))["old-api"]
    assert info.status == "failed"
    assert "is not in podium.lock" in str(info.error)
