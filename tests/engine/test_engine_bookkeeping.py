"""A param whose name starts with ``_`` is a param like any other: the engine's bookkeeping
lives beside the record's spec, so it can neither hide nor be mistaken for a param."""

from __future__ import annotations

from typing import Any


def test_a_change_of_an_underscore_param_is_planned(project: Any) -> None:
    score = project.root / "web.score.yaml"
    score.write_text(
        score.read_text().replace(
            "  cache:\n    type: volume\n    params:\n",
            "  cache:\n    type: volume\n    params:\n      _tier: a\n",
        )
    )
    project.podium("up", check=True)
    assert all(c["action"] == "no-op" for c in project.podium_json("plan")["changes"])

    score.write_text(score.read_text().replace("_tier: a", "_tier: b"))
    plan = project.podium_json("plan")
    (cache,) = [c for c in plan["changes"] if c["uid"].endswith("web.cache")]
    assert cache["action"] == "update"
    assert "params._tier" in cache["reason"]
    assert {"path": "params._tier", "before": "a", "after": "b"} in cache["diff"]

    project.podium("up", check=True)
    replan = project.podium_json("plan")["changes"]
    assert [c["action"] for c in replan if c["uid"].endswith("web.cache")] == ["no-op"]
