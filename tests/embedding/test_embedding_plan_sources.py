"""A plan holds the workloads parsed for it, and the platform none.

Applying a plan made (or verified) in this process uses the workloads parsed for it
rather than parsing its Score sources again; those workloads go when the plan goes, so
a long-lived host (``podium serve``) does not keep every workload it ever verified.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from podium.engine.plan import Plan
from podium.workload import loader
from podium.workload.model import Workload


def counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Patch the Score text loader to note the path of every text it parses."""
    parsed: list[str] = []
    real = loader.load_workload_text

    def load_workload_text(text: str, path: Any = "<string>", **kwargs: Any) -> Workload:
        parsed.append(str(path))
        return real(text, path, **kwargs)

    monkeypatch.setattr(loader, "load_workload_text", load_workload_text)
    return parsed


def live_workloads() -> list[Workload]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, Workload)]


def test_applying_a_plan_made_here_parses_its_sources_once(
    make_platform: Any, score: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform()
    parsed = counting_parses(monkeypatch)
    plan = platform.plan("dev", [score])
    assert parsed == [str(score)]
    assert platform.apply(plan).ok
    assert parsed == [str(score)]  # apply used the plan's own workload


def test_a_saved_plan_is_parsed_once_to_verify_and_apply_it(
    make_platform: Any, score: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform()
    saved = tmp_path / "plan.json"
    saved.write_text(platform.plan("dev", [score]).to_json())
    parsed = counting_parses(monkeypatch)
    assert platform.apply(Plan.load(saved)).ok
    assert parsed == [str(score)]  # verified from its embedded source, then applied as is


def test_a_dropped_plan_leaves_no_workload_in_the_platform(
    make_platform: Any, score: Path, tmp_path: Path
) -> None:
    platform = make_platform()
    plan = platform.plan("dev", [score])
    assert [w.name for w in live_workloads()] == ["web"]
    saved = tmp_path / "plan.json"
    saved.write_text(plan.to_json())
    del plan
    assert live_workloads() == []

    verified = platform.verify_plan(Plan.load(saved))
    assert [w.name for w in live_workloads()] == ["web"]
    del verified
    assert live_workloads() == []
