"""``podium ci generate``: the pipelines are well-formed (actionlint, GitLab's schema) and work.

Each test generates a pipeline with the real CLI for a three-environment platform in a
git checkout, lints it with the real tools, then runs its shell steps here: a merge
deploys dev, staging and prod from saved plans; a pull request plans every environment
with no state key anywhere and publishes the plans; the next merge applies the change;
an edited saved plan is refused at apply.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ci_runner import fake_tool, load, run_github_job, run_gitlab_job
from cryptography.fernet import Fernet

from podium.testing import unavailable

STAGING = '\n[environments.staging]\ndeployer = "fake-deployer"\n'
ENVIRONMENTS = ("dev", "staging", "prod")


def _tool(name: str) -> str:
    """A linter from the test extra, next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed (core's test extra: pip install -e '.[test]')")
    return found


@pytest.fixture
def repo_project(tmp_path: Path, make_project: Any) -> Any:
    """A platform in the ``platform`` directory of a git checkout, with dev, staging, prod."""
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    project = make_project("repo/platform")
    config = project.root / "podium.toml"
    config.write_text(config.read_text() + STAGING)
    return project


def _world(project: Any, env: str) -> Path:
    return project.root / ".podium" / env / "fake-world"


def _greeting(project: Any, env: str) -> str | None:
    path = _world(project, env) / "deployed" / "web.json"
    if not path.exists():
        return None
    return str(json.loads(path.read_text())["variables"]["main"]["GREETING"])


def _generate(project: Any, system: str) -> Path:
    repo = project.root.parent
    result = project.podium("ci", "generate", system, "--out", str(repo), check=True)
    assert "state.backend is sqlite" in result.stderr  # the runner would start empty
    path = repo / (".github/workflows/podium.yml" if system == "github" else ".gitlab-ci.yml")
    assert path.is_file(), result.stdout
    described = project.podium_json("ci", "generate", system)
    assert described["text"] == path.read_text() and described["written"] is None
    assert [(e["name"], e["gated"]) for e in described["environments"]] == [
        ("dev", False),
        ("staging", True),
        ("prod", True),
    ]
    return path


def test_github_workflow_passes_actionlint_and_its_steps_deploy_review_and_promote(
    repo_project: Any, tmp_path: Path
) -> None:
    project = repo_project
    path = _generate(project, "github")
    lint = subprocess.run(
        [_tool("actionlint"), "-shellcheck=", "-pyflakes=", str(path)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    workflow = load(path)
    assert workflow["jobs"]["plan"]["strategy"]["matrix"]["environment"] == list(ENVIRONMENTS)
    assert workflow["jobs"]["plan"]["defaults"]["run"]["working-directory"] == "platform"
    # the state key reaches apply jobs only, each from its own GitHub environment
    assert "PODIUM_STATE_KEY" not in json.dumps(workflow["jobs"]["plan"])
    assert "PODIUM_STATE_KEY" not in json.dumps(workflow["jobs"]["comment"])
    for env in ENVIRONMENTS:
        job = workflow["jobs"][f"apply-{env}"]
        assert job["environment"] == env and "PODIUM_STATE_KEY" in job["env"]
    assert workflow["jobs"]["apply-prod"]["needs"] == ["plan", "apply-staging"]
    install = workflow["jobs"]["plan"]["steps"][2]["run"]
    assert "podium==" in install and "podium-fake==0.1.0" in install  # pinned as run here

    repo, artifacts = project.root.parent, tmp_path / "artifacts"
    key = Fernet.generate_key().decode()
    env = {"PYTHONPATH": project.env()["PYTHONPATH"]}
    push = {"github.token": "t", "secrets.PODIUM_STATE_KEY": key}

    def merge(tamper: bool = False) -> dict[str, Any]:
        shutil.rmtree(artifacts, ignore_errors=True)
        for name in ENVIRONMENTS:
            run = run_github_job(
                workflow,
                "plan",
                repo=repo,
                artifacts=artifacts,
                context={**push, "matrix.environment": name},
                env=env,
            )
            assert run.ok, run.output()
        if tamper:  # someone edits the reviewed prod plan on its way to the apply job
            saved = artifacts / "plan-prod" / "plan-prod.json"
            data = json.loads(saved.read_text())
            data["changes"][0]["spec"]["params"] = {"flavour": "evil"}
            saved.write_text(json.dumps(data))
        results = {}
        for name in ENVIRONMENTS:
            results[name] = run_github_job(
                workflow, f"apply-{name}", repo=repo, artifacts=artifacts, context=push, env=env
            )
        return results

    first = merge()
    assert all(r.ok for r in first.values()), "\n".join(r.output() for r in first.values())
    assert [_greeting(project, e) for e in ENVIRONMENTS] == ["hello"] * 3

    # A pull request changes the workload: every environment is planned without any key.
    web = project.root / "web.score.yaml"
    web.write_text(web.read_text().replace("GREETING: hello", "GREETING: hi"))
    shutil.rmtree(artifacts)
    for name in ENVIRONMENTS:
        run = run_github_job(
            workflow,
            "plan",
            repo=repo,
            artifacts=artifacts,
            context={"matrix.environment": name},
            env=env,
        )
        assert run.ok, run.output()
        summary = (tmp_path / f"summary-plan-{name}.md").read_text()
        assert f"### Podium plan: `enginetest` / `{name}`" in summary
        assert "| `~` | `deployment:web` | update |" in summary
        assert "containers.main.variables.GREETING" in summary  # the attribute diff
        assert (artifacts / f"plan-{name}" / f"plan-{name}.json").is_file()
    log = tmp_path / "gh.log"
    fake_tool(tmp_path / "bin", "gh", log)
    comment = run_github_job(
        workflow,
        "comment",
        repo=repo,
        artifacts=artifacts,
        context={
            "github.token": "t",
            "github.repository": "acme/shop",
            "github.event.pull_request.number": "42",
        },
        env={**env, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )
    assert comment.ok, comment.output()
    assert log.read_text().strip() == (
        "pr comment 42 --body-file comment.md --edit-last --create-if-none"
    )
    body = Path(f"{log}.body").read_text()
    assert body.startswith("<!-- podium-plan -->")
    assert all(f"`enginetest` / `{name}`" in body for name in ENVIRONMENTS)
    assert [_greeting(project, e) for e in ENVIRONMENTS] == ["hello"] * 3  # nothing applied
    assert not (project.root / ".podium" / "key").exists()  # no key file was ever needed

    # The merge applies the reviewed change everywhere; a tampered prod plan is refused.
    second = merge(tamper=True)
    assert second["dev"].ok and second["staging"].ok, second["staging"].output()
    refused = second["prod"]
    assert not refused.ok
    apply_step = next(r for name, r in refused.steps if name.startswith("Apply the saved plan"))
    assert apply_step.returncode == 12, refused.output()
    assert [_greeting(project, e) for e in ENVIRONMENTS] == ["hi", "hi", "hello"]


def test_gitlab_pipeline_passes_the_gitlab_schema_and_its_jobs_plan_note_and_apply(
    repo_project: Any, tmp_path: Path
) -> None:
    project = repo_project
    path = _generate(project, "gitlab")
    check = subprocess.run(
        [
            _tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.gitlab-ci",
            "--data-transform",
            "gitlab-ci",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    pipeline = load(path)
    assert pipeline["stages"] == ["plan", "deploy-dev", "deploy-staging", "deploy-prod"]
    assert pipeline["podium:apply:prod"]["rules"][0]["when"] == "manual"
    assert "when" not in pipeline["podium:apply:dev"]["rules"][0]
    assert pipeline["podium:apply:prod"]["environment"]["deployment_tier"] == "production"

    repo = project.root.parent
    env = {"PYTHONPATH": project.env()["PYTHONPATH"]}
    key = Fernet.generate_key().decode()

    def apply_all() -> None:
        for name in ENVIRONMENTS:
            plan = run_gitlab_job(pipeline, f"podium:plan:{name}", repo=repo, env=env)
            assert plan.ok, plan.output()
        for name in ENVIRONMENTS:
            run = run_gitlab_job(
                pipeline, f"podium:apply:{name}", repo=repo, env={**env, "PODIUM_STATE_KEY": key}
            )
            assert run.ok, run.output()

    apply_all()
    assert [_greeting(project, e) for e in ENVIRONMENTS] == ["hello"] * 3

    web = project.root / "web.score.yaml"
    web.write_text(web.read_text().replace("GREETING: hello", "GREETING: hi"))
    log = tmp_path / "curl.log"
    fake_tool(tmp_path / "bin", "curl", log)
    request = {
        **env,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PODIUM_GITLAB_TOKEN": "glpat-test",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_API_V4_URL": "https://gitlab.example/api/v4",
        "CI_PROJECT_ID": "99",
    }
    for name in ENVIRONMENTS:
        run = run_gitlab_job(pipeline, f"podium:plan:{name}", repo=repo, env=request)
        assert run.ok, run.output()
        assert (project.root / f"plan-{name}.json").is_file()
    calls = log.read_text().splitlines()
    assert len(calls) == 3
    assert calls[0].endswith("https://gitlab.example/api/v4/projects/99/merge_requests/7/notes")
    assert "PRIVATE-TOKEN: glpat-test" in calls[0]
    notes = Path(f"{log}.body").read_text()
    assert all(f"`enginetest` / `{name}`" in notes for name in ENVIRONMENTS)
    assert not (project.root / ".podium" / "key").exists()

    apply_all()
    assert [_greeting(project, e) for e in ENVIRONMENTS] == ["hi"] * 3
