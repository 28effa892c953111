from __future__ import annotations

import hashlib
import json
import sys

import pytest
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


def _checked_lock(tmp_path, names: set[str]):  # type: ignore[no-untyped-def]
    """Lock as `podium plugins lock` does: compile checked-hash bytecode, then hash."""
    from podium.plugins.lock import compile_bytecode

    candidates = [c for c in discover() if c.name in names]
    for candidate in candidates:
        assert compile_bytecode(candidate) == []
    path = tmp_path / "podium.lock"
    write_lock(path, [fingerprint(c) for c in candidates])
    return path


def test_lock_covers_checked_hash_bytecode(sample_dist: SampleFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import importlib.util

    from podium.plugins.lock import bytecode_tag

    dist = sample_dist("good")
    path = _checked_lock(tmp_path, {"good"})
    entry = json.loads(path.read_text())["plugins"]["good"]
    assert entry["bytecode"] == bytecode_tag() == sys.implementation.cache_tag
    pyc = importlib.util.cache_from_source(str(dist.module_file))
    data = open(pyc, "rb").read()  # noqa: SIM115
    assert int.from_bytes(data[4:8], "little") == 0b11  # PEP 552: hash-based, checked
    key = f"bytecode:{dist.package}/__init__.py"
    assert entry["files"][key] == hashlib.sha256(data).hexdigest()
    # Python keeps a checked .pyc for an unchanged source: importing leaves the lock valid.
    assert by_name(make_manager(allow=["good"], lock_path=path))["good"].status == "loaded"
    assert dist.package in sys.modules
    clear_cache()
    assert by_name(make_manager(allow=["good"], lock_path=path))["good"].status == "loaded"


def test_planted_bytecode_is_refused_before_import(sample_dist: SampleFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import importlib.util
    import py_compile

    dist = sample_dist("good")
    path = _checked_lock(tmp_path, {"good"})
    evil = tmp_path / "evil.py"
    evil.write_text("raise SystemExit('planted code ran')\n")
    pyc = importlib.util.cache_from_source(str(dist.module_file))
    # An unchecked .pyc is run whatever the source says: the strongest form of the attack.
    py_compile.compile(
        str(evil), cfile=pyc, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    info = by_name(make_manager(allow=["good"], lock_path=path))["good"]
    assert info.status == "failed"
    assert isinstance(info.error, IncompatiblePluginError)
    assert f"1 file changed since locked: {dist.package}/__init__.py (bytecode)" in str(info.error)
    assert dist.package not in sys.modules


def test_a_stray_pyc_beside_the_sources_is_a_changed_file(
    sample_dist: SampleFactory, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    dist = sample_dist("good")
    path = _checked_lock(tmp_path, {"good"})
    # Python imports a lone module.pyc that has no source: it is code like any file.
    (dist.site / dist.package / "helpers.pyc").write_bytes(b"not really bytecode")
    info = by_name(make_manager(allow=["good"], lock_path=path))["good"]
    assert info.status == "failed"
    assert f"src:{dist.package}/helpers.pyc" in str(info.error)


def test_verifying_compiles_nothing(sample_dist: SampleFactory, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import builtins
    import py_compile

    sample_dist("good")
    path = _checked_lock(tmp_path, {"good"})

    def no_compiling(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("verifying the lock compiled a source")

    monkeypatch.setattr(py_compile, "compile", no_compiling)
    candidate = next(c for c in discover() if c.name == "good")
    from podium.plugins.lock import verify

    monkeypatch.setattr(builtins, "compile", no_compiling)
    verify(candidate, read_lock(path), path)


def test_a_lock_for_another_interpreter_or_format_is_refused(
    sample_dist: SampleFactory, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from podium.errors import ConfigError

    sample_dist("good")
    path = _checked_lock(tmp_path, {"good"})
    data = json.loads(path.read_text())
    data["plugins"]["good"]["bytecode"] = "cpython-39"
    path.write_text(json.dumps(data))
    info = by_name(make_manager(allow=["good"], lock_path=path))["good"]
    assert "was locked for cpython-39 bytecode" in str(info.error)

    data["format"] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"older Podium \(format 1\) that did not cover") as exc:
        read_lock(path)
    assert "podium plugins lock" in (exc.value.hint or "")
