"""Typed inputs and errors for embedders (issue 12 item 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from embedding_project import SCORE

from podium.errors import ApplyFailedError, ExitCode, InputError, NoMatchingRuleError


@pytest.mark.parametrize("bare", ["web.score.yaml", b"web.score.yaml", Path("web.score.yaml")])
def test_files_must_be_a_list_not_one_path(make_platform: Any, score: Path, bare: Any) -> None:
    platform = make_platform()
    with pytest.raises(InputError) as info:
        platform.plan("dev", bare)
    assert info.value.field == "files" and "list" in str(info.value)
    with pytest.raises(InputError):
        platform.validate("dev", bare)
    assert platform.history("dev") == []


def test_score_text_is_planned_through_load_workload_text(make_platform: Any) -> None:
    from podium.workload import load_workload_text

    platform = make_platform()
    workload = load_workload_text(SCORE)  # Score text your program received
    plan = platform.plan("dev", [workload], owner="portal-team")
    assert {c.uid for c in plan.changes} == {"volume.default#web.data", "deployment:web"}
    assert platform.apply(plan).ok


def _saved_plan(make_platform: Any, score: Path) -> dict[str, Any]:
    plan = make_platform().plan("dev", [score])
    data: dict[str, Any] = json.loads(plan.to_json())
    return data


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("environment"), "environment"),
        (lambda d: d.update(serial="7"), "serial"),
        (lambda d: d.update(changes={"a": 1}), "changes"),
        (lambda d: d["changes"].append(["not", "a", "change"]), "changes[2]"),
        (lambda d: d["changes"][1].pop("uid"), "changes[1].uid"),
        (lambda d: d["changes"][0].update(action="explode"), "changes[0].action"),
        (lambda d: d["changes"][0].update(spec=[1, 2]), "changes[0].spec"),
        (lambda d: d["changes"][1].update(colour="red"), "changes[1].colour"),
        (lambda d: d.update(findings=[{"policy": "p"}]), "findings[0].message"),
        (lambda d: d.update(workloads=[{"name": 3}]), "workloads[0]"),
        (lambda d: d.update(warnings=[{"x": 1}]), "warnings[0]"),
        (lambda d: d.update(scope=[None]), "scope[0]"),
    ],
)
def test_a_malformed_plan_raises_input_error_with_the_key_path(
    make_platform: Any, score: Path, tmp_path: Path, mutate: Any, field: str
) -> None:
    from podium.engine.plan import Plan

    data = _saved_plan(make_platform, score)
    mutate(data)
    with pytest.raises(InputError) as info:
        Plan.from_dict(data)
    assert info.value.field == field, str(info.value)
    saved = tmp_path / "plan.json"
    saved.write_text(json.dumps(data))
    with pytest.raises(InputError) as loaded:
        Plan.load(saved)
    assert loaded.value.field == field and loaded.value.location is not None
    assert loaded.value.location.path == str(saved)


def test_a_valid_saved_plan_loads(make_platform: Any, score: Path, tmp_path: Path) -> None:
    from podium.engine.plan import Plan

    saved = tmp_path / "plan.json"
    saved.write_text(json.dumps(_saved_plan(make_platform, score)))
    assert Plan.load(saved).counts["create"] == 2


def test_apply_failed_error_carries_the_results(
    make_platform: Any, score: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FAIL", "data")  # the fake provisioner refuses to create "data"
    platform = make_platform()
    plan = platform.plan("dev", [score])
    with pytest.raises(ApplyFailedError) as info:
        platform.apply(plan, raise_on_failure=True)
    result = info.value.result
    assert result is not None and not result.ok
    statuses = {r.uid: r.status for r in result.results}
    assert statuses == {"volume.default#web.data": "failed", "deployment:web": "skipped"}
    assert result.counts["failed"] == 1


def test_no_matching_rule_is_an_input_error_at_the_resource(
    make_platform: Any, tmp_path: Path
) -> None:
    score = tmp_path / "cache.score.yaml"
    score.write_text(SCORE + "  cache:\n    type: redis\n")
    platform = make_platform()
    with pytest.raises(NoMatchingRuleError) as info:
        platform.plan("dev", [score])
    error = info.value
    assert isinstance(error, InputError) and error.exit_code == ExitCode.INVALID_INPUT
    assert error.location is not None
    assert (error.location.path, error.location.line) == (str(score), 12)
    assert error.field == "resources.cache.type"
    assert str(error).startswith(f"{score}:12")
    assert error.to_dict()["line"] == 12
