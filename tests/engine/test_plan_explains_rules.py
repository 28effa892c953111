"""``podium plan -v`` and ``--json`` say which [[rules]] entry each resource matched, and why.

Issue 11 item 8 (the part the golden-paths ``--explain`` builds on): the platform
guide promises it; before, ``-v`` showed only the provisioner.
"""

from __future__ import annotations

import json
import re
from typing import Any

CHANGE_LINE = re.compile(r"^\s*\S*\s+(?:create|update|replace|delete|no-op)\s+(\S+)\s+\[")

RULES = """
[[rules]]                       # rules[1]: more specific for dev
type = "volume"
environment = "dev"
provisioner = "fake-dir"

[[rules]]                       # rules[2]: the most specific for the cache resource
type = "volume"
class = "fast"
environment = "dev"
provisioner = "fake-dir"

[[rules]]                       # rules[3]: as specific as rules[2], later: loses the tie
type = "volume"
environment = ["dev"]
provisioner = "fake-dir"
"""


def _configure(project: Any) -> None:
    config = project.root / "podium.toml"
    config.write_text(config.read_text() + RULES)
    web = project.root / "web.score.yaml"
    web.write_text(
        web.read_text().replace(
            "  cache:\n    type: volume\n", "  cache:\n    type: volume\n    class: fast\n"
        )
    )


def _rule_lines(stdout: str) -> dict[str, str]:
    """The ``rule:`` line under each change, by uid."""
    found: dict[str, str] = {}
    uid = ""
    for line in stdout.splitlines():
        if line.lstrip().startswith("rule:"):
            found[uid] = line.strip()
        elif change := CHANGE_LINE.match(line):
            uid = change.group(1)
    return found


def test_plan_verbose_shows_the_rule_each_resource_matched_and_why(project: Any) -> None:
    _configure(project)
    quiet = project.podium("plan", "-e", "dev", check=True, NO_COLOR="1")
    assert "rule:" not in quiet.stdout  # only with -v

    shown = _rule_lines(project.podium("plan", "-v", "-e", "dev", check=True, NO_COLOR="1").stdout)
    assert set(shown) == {"volume.default#web.data", "volume.fast#web.cache"}  # resources only
    data = shown["volume.default#web.data"]
    assert (
        data.startswith("rule: rules[1] at podium.toml:")
        and "(type=volume, environment=dev)" in data
    )
    assert "it and rules[3] are the most specific of 3 matching rules" in data
    assert "the first in the file wins" in data
    cache = shown["volume.fast#web.cache"]
    assert cache.startswith("rule: rules[2] at podium.toml:")
    assert "(type=volume, class=fast, environment=dev)" in cache
    assert (
        "the most specific of 4 matching rules: it matches on type, class and environment, "
        "the next best (rules[1]) on type and environment"
    ) in cache

    lines = (project.root / "podium.toml").read_text().splitlines()
    rule_lines = [n for n, text in enumerate(lines, 1) if text.startswith("[[rules]]")]
    assert f"podium.toml:{rule_lines[1]} " in data and f"podium.toml:{rule_lines[2]} " in cache

    plan = project.podium_json("plan", "-e", "dev")
    rules = {c["uid"]: c["rule"] for c in plan["changes"]}
    assert rules["deployment:web"] is None
    assert rules["volume.default#web.data"] == {
        "index": 1,
        "file": "podium.toml",
        "line": rule_lines[1],
        "provisioner": "fake-dir",
        "criteria": {"type": "volume", "environment": "dev"},
        "specificity": 1,
        "outranked": [0, 3],
        "why": "it and rules[3] are the most specific of 3 matching rules (they match on type "
        "and environment): the first in the file wins",
    }
    cache_rule = rules["volume.fast#web.cache"]
    assert (cache_rule["index"], cache_rule["specificity"], cache_rule["outranked"]) == (
        2,
        2,
        [0, 1, 3],
    )


def test_a_saved_plan_keeps_the_explanation_and_still_applies(project: Any) -> None:
    _configure(project)
    saved = project.root / "plan.json"
    project.podium("plan", "-e", "dev", "--out", str(saved), check=True)
    changes = json.loads(saved.read_text())["changes"]
    assert {
        c["uid"]: (c["rule"] or {}).get("index") for c in changes if c["kind"] == "resource"
    } == {
        "volume.default#web.data": 1,
        "volume.fast#web.cache": 2,
    }
    applied = project.podium("apply", "-e", "dev", str(saved), "--yes")
    assert applied.returncode == 0, applied.stderr
    shown = _rule_lines(project.podium("plan", "-v", "-e", "dev", check=True, NO_COLOR="1").stdout)
    assert set(shown) == {"volume.default#web.data", "volume.fast#web.cache"}  # no-ops too
