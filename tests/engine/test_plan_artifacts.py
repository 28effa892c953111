"""Plans as reviewable artifacts: ``plan --format markdown``, ``--explain``, ``schema plan``.

Through the real CLI on the fake plugin: the Markdown a pull request shows says what
changes, why, with attribute diffs, findings, and per node the rule, provisioner and
plugin version; secrets never appear; the published JSON Schema accepts every plan
Podium saves and rejects a malformed one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema


def _deployed_then_changed(project: Any) -> None:
    project.podium("up", "-e", "dev", "--yes", check=True)
    web = project.root / "web.score.yaml"
    web.write_text(web.read_text().replace("GREETING: hello", 'GREETING: "a|b <i>"'))


def _passwords(project: Any) -> list[str]:
    dirs = project.world / "dirs"
    return [p.read_text() for p in dirs.glob("*/password")]


def test_markdown_plan_has_summary_changes_diffs_rules_and_plugin_versions(project: Any) -> None:
    _deployed_then_changed(project)
    result = project.podium("plan", "-e", "dev", "--format", "markdown", "--out", "p.json")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("### Podium plan: `enginetest` / `dev`\n")
    assert "**0 to create, 1 to update, 0 to replace, 0 to delete, 2 unchanged.**" in text
    assert "Plugins: fake 0.1.0" in text
    assert "| `~` | `deployment:web` | update |" in text
    assert "fake-deployer (fake 0.1.0)" in text
    # the attribute diff, with a pipe and HTML in the value made safe for a table
    assert '| `containers.main.variables.GREETING` | `"hello"` | `"a\\|b &lt;i&gt;"` |' in text
    assert "Saved to p.json" in result.stderr and "Saved" not in text  # stdout is the document
    for password in _passwords(project):
        assert password not in text
    # unchanged nodes and the rules that chose them appear with --explain
    explained = project.podium("plan", "-e", "dev", "--format", "markdown", "--explain").stdout
    assert "| `=` | `volume.default#web.data` | no-op | up to date | fake-dir (fake 0.1.0) |" in (
        explained
    )
    assert "rules[0] at podium.toml:" in explained
    assert "#### Why" in explained
    assert "the only rule that matches" in explained
    assert "fake-deployer is the deployer of environment 'dev'" in explained


def test_markdown_lists_findings_and_says_when_apply_will_refuse(project: Any) -> None:
    config = project.root / "podium.toml"
    config.write_text(config.read_text().replace('"fake-dir"', '"fake-data-dir"'))
    project.podium("up", "-e", "prod", "--yes", check=True)
    # a replace-on param: both data-holding volumes are replaced
    config.write_text(
        config.read_text().replace(
            'provisioner = "fake-data-dir"',
            'provisioner = "fake-data-dir"\nparams = { flavour = "b" }',
        )
    )
    result = project.podium("plan", "-e", "prod", "--format", "markdown")
    assert result.returncode == 5, result.stderr  # a mandatory finding blocks, as in text
    assert "#### Findings" in result.stdout
    assert "| **mandatory** | `podium.data-loss` |" in result.stdout
    assert "replace **DATA LOSS**" in result.stdout
    assert "**Blocked by 2 mandatory finding(s): apply will refuse.**" in result.stdout


def test_explain_says_which_rule_won_and_which_plugin_version_makes_each_node(
    project: Any,
) -> None:
    _deployed_then_changed(project)
    text = project.podium("plan", "-e", "dev", "--explain", check=True, NO_COLOR="1").stdout
    assert "rule: rules[0] at podium.toml:" in text  # what -v shows, for every resource
    assert "Why each node of 'dev' is planned this way:" in text
    assert (
        "  volume.default#web.data: no-op (up to date)\n    made by fake-dir (fake 0.1.0)" in text
    )
    assert "deployment:web: update" in text
    assert "fake-deployer is the deployer of environment 'dev'" in text
    plan = project.podium_json("plan", "-e", "dev")
    assert plan["plugins"] == {"fake": "0.1.0"}
    as_format = json.loads(project.podium("plan", "-e", "dev", "--format", "json").stdout)
    assert as_format["plugins"] == plan["plugins"] and as_format["changes"] == plan["changes"]


def test_schema_plan_accepts_saved_plans_and_rejects_malformed_ones(
    project: Any, tmp_path: Path
) -> None:
    schema = json.loads(project.podium("schema", "plan", check=True).stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    _deployed_then_changed(project)
    project.podium("plan", "-e", "dev", "--out", "changed.json", check=True)
    project.podium("plan", "-e", "dev", "--destroy", "--out", "destroy.json")
    for name in ("changed.json", "destroy.json"):
        saved = json.loads((project.root / name).read_text())
        errors = list(validator.iter_errors(saved))
        assert not errors, [e.message for e in errors]
        assert set(saved) <= set(schema["properties"])
    saved = json.loads((project.root / "changed.json").read_text())
    saved["changes"][0]["action"] = "explode"
    assert not validator.is_valid(saved)
    del saved["changes"][0]["action"]
    assert not validator.is_valid(saved)
    out = tmp_path / "plan.schema.json"
    project.podium("schema", "plan", "--out", str(out), check=True)
    assert json.loads(out.read_text()) == schema


def test_a_saved_plan_made_by_other_plugin_versions_is_stale_at_apply(project: Any) -> None:
    _deployed_then_changed(project)
    project.podium("plan", "-e", "dev", "--out", "p.json", check=True)
    saved = project.root / "p.json"
    data = json.loads(saved.read_text())
    assert data["plugins"] == {"fake": "0.1.0"}
    data["plugins"]["fake"] = "0.0.9"  # as if fake 0.0.9 made the plan, and 0.1.0 applies it
    saved.write_text(json.dumps(data))
    result = project.podium("apply", "p.json")
    assert result.returncode == 8, result.stderr
    assert "plugins were upgraded or downgraded since this plan was made (fake 0.0.9 -> 0.1.0)" in (
        result.stderr
    )
    assert project.deployed()["variables"]["main"]["GREETING"] == "hello"  # nothing applied
