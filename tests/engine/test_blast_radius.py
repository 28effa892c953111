"""``podium plan --all``: what a platform change does to everything deployed, before rollout.

Deployment records keep the Score source they were deployed from (path, digest, text),
so a changed ``podium.toml`` is planned against what really runs in every environment,
not against whatever the checkout holds now. Through the real CLI and the state file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

API = """\
apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: example/api:1.0
resources:
  files:
    type: volume
"""


def _state(project: Any, env: str) -> Path:
    return project.root / ".podium" / env / "state.db"


def _bookkeeping(project: Any, env: str, uid: str) -> dict[str, Any]:
    with sqlite3.connect(_state(project, env)) as db:
        row = db.execute("SELECT bookkeeping FROM records WHERE uid = ?", (uid,)).fetchone()
    return dict(json.loads(row[0]))


def _deploy_everywhere(project: Any) -> None:
    (project.root / "api.score.yaml").write_text(API)
    project.podium("up", "-e", "dev", "--yes", check=True)
    project.podium("up", "-e", "prod", "--yes", "-f", "web.score.yaml", check=True)


def test_deployments_record_the_score_source_they_were_deployed_from(project: Any) -> None:
    _deploy_everywhere(project)
    text = (project.root / "web.score.yaml").read_text()
    source = _bookkeeping(project, "dev", "deployment:web")["source"]
    assert source == {
        "path": "web.score.yaml",
        "digest": hashlib.sha256(text.encode()).hexdigest(),
        "text": text,
    }
    assert "source" not in _bookkeeping(project, "dev", "volume.default#web.data")
    # a release that fails keeps the last deployed source
    web = project.root / "web.score.yaml"
    web.write_text(text.replace("GREETING: hello", "GREETING: hi"))
    failed = project.podium(
        "up", "-e", "dev", "--yes", "-f", "web.score.yaml", FAKE_DEPLOY_FAIL="web"
    )
    assert failed.returncode != 0
    assert _bookkeeping(project, "dev", "deployment:web")["source"]["text"] == text


def test_plan_all_shows_which_workloads_and_environments_a_platform_change_moves(
    project: Any,
) -> None:
    _deploy_everywhere(project)
    quiet = project.podium("plan", "--all", check=True, NO_COLOR="1").stdout
    assert "dev: 0 of 2 workload(s) change" in quiet and "prod: 0 of 1" in quiet
    # a developer's edit not yet deployed is not the platform's change: not in the radius
    web = project.root / "web.score.yaml"
    web.write_text(web.read_text().replace("GREETING: hello", "GREETING: edited"))
    config = project.root / "podium.toml"
    config.write_text(
        config.read_text()
        + '\n[[rules]]\ntype = "volume"\nclass = "default"\nenvironment = "prod"\n'
        'provisioner = "fake-dir"\nparams = { flavour = "gold" }\n'
    )
    result = project.podium("plan", "--all", NO_COLOR="1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "dev: 0 of 2 workload(s) change" in lines
    assert "prod: 1 of 1 workload(s) change" in lines
    assert "  web: 1 to update, 2 to replace" in lines
    assert "    volume.default#web.data: replace (immutable change of rule_params.flavour)" in lines
    assert "Blast radius: 1 workload(s) change in 1 environment(s)." in lines
    assert "edited" not in result.stdout

    radius = project.podium_json("plan", "--all")
    assert radius["environments"] == ["dev", "prod"]
    assert [(c["environment"], c["workload"]) for c in radius["changed"]] == [("prod", "web")]
    assert {(u["environment"], u["workload"]) for u in radius["unchanged"]} == {
        ("dev", "api"),
        ("dev", "web"),
    }
    markdown = project.podium("plan", "--all", "--format", "markdown", check=True).stdout
    assert "| prod | `web` | 1 to update, 2 to replace |" in markdown
    only_dev = project.podium_json("plan", "--all", "-e", "dev")
    assert only_dev["environments"] == ["dev"] and not only_dev["changed"]
    # nothing was applied
    assert (
        project.podium("plan", "-e", "prod", "-f", "web.score.yaml", NO_COLOR="1").returncode == 0
    )


def test_plan_all_exits_non_zero_on_a_mandatory_finding(project: Any) -> None:
    config = project.root / "podium.toml"
    config.write_text(config.read_text().replace('"fake-dir"', '"fake-data-dir"'))
    project.podium("up", "-e", "prod", "--yes", check=True)
    config.write_text(
        config.read_text().replace(
            'provisioner = "fake-data-dir"',
            'provisioner = "fake-data-dir"\nparams = { flavour = "b" }',
        )
    )
    result = project.podium("plan", "--all", NO_COLOR="1")
    assert result.returncode == 5, result.stderr
    assert "mandatory: prod: podium.data-loss" in result.stdout
    assert "Blocked by 2 mandatory finding(s)." in result.stdout


def test_a_deployment_recorded_without_a_source_is_listed_not_planned(project: Any) -> None:
    project.podium("up", "-e", "dev", "--yes", check=True)
    with sqlite3.connect(_state(project, "dev")) as db:  # as Podium before sources wrote it
        db.execute(
            "UPDATE records SET bookkeeping = json_remove(bookkeeping, '$.source') "
            "WHERE uid = 'deployment:web'"
        )
    result = project.podium("plan", "--all", "-e", "dev", check=True, NO_COLOR="1")
    assert (
        "not planned: dev/web: deployed before Podium recorded Score sources: "
        "its next deploy records one"
    ) in result.stdout
    assert "1 not planned" in result.stdout
