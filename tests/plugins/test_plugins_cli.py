"""``podium plugins ...`` as a user runs it: real subprocesses, real distributions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from plugin_samples import SampleFactory


def _podium(cwd: Path, *args: str, sites: list[Path]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(s) for s in sites] + [env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plugins_list_json_shows_broken_plugin_with_distribution(
    sample_dist: SampleFactory, tmp_path: Path
) -> None:
    sample_dist("good", version="0.4.2")
    sample_dist("broken_import", version="3.0.1")
    project = tmp_path / "project"
    project.mkdir()

    result = _podium(project, "plugins", "list", "--json", sites=sample_dist.sites)

    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["good"]["status"] == "loaded"
    assert plugins["good"]["distribution"] == "podium-sample-good"
    assert plugins["good"]["version"] == "0.4.2"
    assert plugins["good"]["registrations"]["provisioners"] == ["sample-echo"]
    broken = plugins["broken-import"]
    assert broken["status"] == "failed"
    assert broken["distribution"] == "podium-sample-broken-import"
    assert broken["version"] == "3.0.1"
    assert "broken on purpose" in broken["error"]
    assert "podium-sample-broken-import 3.0.1" in broken["error"]
    assert "Traceback" not in result.stderr


def test_lock_then_tamper_is_refused_with_what_changed(
    sample_dist: SampleFactory, tmp_path: Path
) -> None:
    good = sample_dist("good")
    project = tmp_path / "project"
    project.mkdir()
    (project / "podium.toml").write_text('[plugins]\nallow = ["good"]\n')

    locked = _podium(project, "plugins", "lock", sites=sample_dist.sites)
    assert locked.returncode == 0, locked.stderr
    assert "good: podium-sample-good 1.0.0" in locked.stdout
    assert json.loads((project / "podium.lock").read_text())["plugins"]["good"]

    good.module_file.write_text(good.module_file.read_text() + "\n# changed after locking\n")
    listed = _podium(project, "plugins", "list", "--json", sites=sample_dist.sites)
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert plugins["good"]["status"] == "failed"
    assert "1 file changed since locked" in plugins["good"]["error"]

    strict = _podium(project, "--strict-plugins", "plugins", "list", sites=sample_dist.sites)
    assert strict.returncode == 4  # ExitCode.PLUGIN_FAULT
    assert "1 file changed since locked" in strict.stderr
    assert "Traceback" not in strict.stderr
