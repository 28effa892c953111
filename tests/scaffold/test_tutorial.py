"""Follow the plugin-author tutorial as a new user would, and use its plugin for real.

Every file and command comes from sdk_docs/docs/guides/plugin-author.md, in order,
in an empty directory and a fresh virtual environment: if the tutorial stops
working, this test fails with the step that broke.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import docsamples as samples
import pytest

pytestmark = pytest.mark.slow

TUTORIAL = samples.DOCS / "guides" / "plugin-author.md"


def test_the_tutorial_plugin_is_built_tested_installed_and_used(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    venv = samples.LayeredVenv(tmp_path / "venv")
    steps = [s for s in samples.samples(TUTORIAL) if s.kind != "file"]
    outputs = dict(
        zip(
            (s.code.split("\n")[-2] for s in steps),
            samples.run_page(TUTORIAL, workdir, venv),
            strict=True,
        )
    )
    assert len(outputs) == len(steps) == 4

    tests = next(out for step, out in outputs.items() if "pytest" in step)
    passed = re.search(r"(\d+) passed", tests)
    assert passed and int(passed.group(1)) >= 15, tests  # the conformance kit ran
    assert " failed" not in tests

    listing = next(out for step, out in outputs.items() if "plugins info" in step)
    assert re.search(r"^outbox\s+loaded\s+podium-outbox 0\.1\.0", listing, re.M), listing

    used = next(out for step, out in outputs.items() if "destroy" in step)
    assert "2 to create" in used and "Apply complete: 2 changed" in used, used
    assert re.search(r"^ready\s+hello", used, re.M), used
    assert "2 to delete" in used

    # The manifest the plugin wrote during `podium up` had the placeholder resolved;
    # `podium destroy` then removed it, and the volume directory with it.
    manifest, _ = json.JSONDecoder().raw_decode(used, used.index('{\n  "release": 1'))
    uploads = manifest["containers"]["web"]["variables"]["UPLOADS"]
    assert "/outbox-volumes/demo-dev-volume-default-hello-uploads-" in uploads
    assert not Path(uploads).exists()
    assert not (workdir / "demo" / "outbox" / "dev" / "hello.json").exists()


def test_the_tutorial_plugin_did_not_leak_into_the_test_environment() -> None:
    from importlib.metadata import entry_points

    assert "outbox" not in {ep.name for ep in entry_points(group="podium.plugins")}
