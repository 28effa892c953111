"""Workload templates through the real CLI: a plugin ships versions, ``podium new`` scaffolds
a git repository, ``podium template update`` merges a later version with copier.

The template plugin is a real distribution (a ``.dist-info`` with its entry point) in a
temporary site directory on the subprocess's ``PYTHONPATH``; the template is small so
these tests stay quick. Deploying a generated service is podium-local's test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from podium.errors import ExitCode
from podium.golden_paths.provenance import from_attributes, read_answers
from podium.golden_paths.repository import build_repository, pick_version, versions
from podium.platform.contract import WorkloadTemplate

PLUGIN = """\
from pathlib import Path

from podium.plugin import WorkloadTemplate, hookimpl

PODIUM_API = ">=1.3,<2"


@hookimpl
def podium_workload_templates():
    return [WorkloadTemplate("demo", Path(__file__).parent / "demo", "a demo service")]
"""

COPIER_YML = """\
service_name:
  type: str
  default: "{{ _folder_name }}"
"""
ANSWERS = "{{ _copier_answers|to_nice_yaml -}}\n"
APP_1 = 'name: {{ service_name }}\nversion: "{{ _copier_answers._commit }}"\nport: 8080\nend\n'
APP_2 = (
    'name: {{ service_name }}\nversion: "{{ _copier_answers._commit }}"\nport: 9090\n'
    "end\nlogging: json\n"
)
README = "# service\n\nRun it with podium up.\n"


def write_version(root: Path, version: str, app: str) -> None:
    directory = root / version
    directory.mkdir(parents=True)
    (directory / "copier.yml").write_text(COPIER_YML)
    (directory / "{{_copier_conf.answers_file}}.jinja").write_text(ANSWERS)
    (directory / "app.yaml.jinja").write_text(app)
    (directory / "README.md").write_text(README)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site directory holding the distribution ``podium-demo-templates`` (1.0.0 and 1.1.0)."""
    site = tmp_path / "site"
    package = site / "podium_demo_templates"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(PLUGIN)
    write_version(package / "demo", "1.0.0", APP_1)
    write_version(package / "demo", "1.1.0", APP_2)
    (package / "demo" / "notes.txt").write_text("not a version: ignored")
    dist_info = site / "podium_demo_templates-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: podium-demo-templates\nVersion: 0.1.0\n"
    )
    (dist_info / "entry_points.txt").write_text("[podium.plugins]\ndemo = podium_demo_templates\n")
    return site


@pytest.fixture
def podium(site: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "GIT_"))}
    env.update(
        PYTHONPATH=str(site),
        XDG_CACHE_HOME=str(tmp_path / "cache"),  # copier's mirror of the template
        HOME=str(tmp_path / "home"),  # no git identity: podium new commits as Podium
        GIT_CONFIG_NOSYSTEM="1",
    )

    def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def git(directory: Path, *args: str) -> str:
    identity = ["-c", "user.name=Author", "-c", "user.email=author@example.com"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=directory, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_new_lists_the_templates_plugins_ship(podium, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    listed = podium(tmp_path, "--json", "new", "--list")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["demo"]["versions"] == ["1.0.0", "1.1.0"]
    assert rows["demo"]["distribution"] == "podium-demo-templates"
    assert rows["demo"]["description"] == "a demo service"
    text = podium(tmp_path, "new", "--list")
    assert (
        "demo" in text.stdout and "1.1.0" in text.stdout and "podium-demo-templates" in text.stdout
    )


def test_new_scaffolds_a_git_repository_recording_the_version(podium, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    created = podium(tmp_path, "--json", "new", "demo", "svc")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["version"] == "1.1.0"  # the latest by default
    service = tmp_path / "svc"
    assert "port: 9090" in (service / "app.yaml").read_text()
    answers = yaml.safe_load((service / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == "podium-template://demo.git"  # the same on every machine
    assert answers["_commit"] == "1.1.0" and answers["service_name"] == "svc"
    assert git(service, "status", "--porcelain") == ""  # all of it committed
    assert "Generate from workload template demo 1.1.0" in git(service, "log", "--format=%s")

    again = podium(tmp_path, "new", "demo", "svc")
    assert again.returncode == ExitCode.INVALID_INPUT and "not empty" in again.stderr
    unknown = podium(tmp_path, "new", "nope", "other")
    assert unknown.returncode == ExitCode.NOT_FOUND and "demo" in unknown.stderr
    bad_version = podium(tmp_path, "new", "demo", "other", "--version", "3.0")
    assert bad_version.returncode == ExitCode.INVALID_INPUT
    assert "versions: 1.0.0, 1.1.0" in bad_version.stderr
    assert not (tmp_path / "other").exists()


def test_update_merges_the_new_version_and_keeps_the_authors_edits(podium, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert podium(tmp_path, "new", "demo", "svc", "--version", "1.0.0").returncode == 0
    service = tmp_path / "svc"
    readme = service / "README.md"
    readme.write_text(readme.read_text() + "\nOwned by the payments team.\n")
    (service / "mine.txt").write_text("my own file\n")
    git(service, "add", "-A")
    git(service, "commit", "-qm", "my edits")

    updated = podium(tmp_path, "--json", "template", "update", "svc")
    assert updated.returncode == 0, updated.stderr
    report = json.loads(updated.stdout)
    assert (report["from_version"], report["to_version"]) == ("1.0.0", "1.1.0")
    assert report["conflicts"] == [] and "app.yaml" in report["changed"]
    app = (service / "app.yaml").read_text()
    assert "port: 9090" in app and "logging: json" in app and 'version: "1.1.0"' in app
    assert "Owned by the payments team." in readme.read_text()
    assert (service / "mine.txt").read_text() == "my own file\n"
    assert read_answers(service)[0].version == "1.1.0"


def test_a_conflicting_edit_is_shown_not_overwritten(podium, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert podium(tmp_path, "new", "demo", "svc", "--version", "1.0.0").returncode == 0
    service = tmp_path / "svc"
    app = service / "app.yaml"
    app.write_text(app.read_text().replace("port: 8080", "port: 7070"))
    dirty = podium(tmp_path, "template", "update", "svc")
    assert dirty.returncode == ExitCode.INVALID_INPUT and "commit or stash" in dirty.stderr
    git(service, "commit", "-qam", "my port")

    updated = podium(tmp_path, "template", "update", "svc")
    assert updated.returncode == ExitCode.ERROR
    assert "conflict" in updated.stdout and "app.yaml" in updated.stdout
    assert "1 file(s) have conflicts: app.yaml" in updated.stderr
    text = app.read_text()
    assert "port: 7070" in text and "port: 9090" in text  # both sides, for the author to pick
    assert "<<<<<<< before updating" in text and ">>>>>>> after updating" in text
    assert "logging: json" in text  # the rest of the new version came in
    assert "app.yaml" in git(service, "diff", "--name-only", "--diff-filter=U")


def test_update_needs_a_generated_service(podium, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "plain").mkdir()
    result = podium(tmp_path, "template", "update", "plain")
    assert result.returncode == ExitCode.INVALID_INPUT
    assert "not generated from a workload template" in result.stderr


def test_the_repository_is_the_same_on_every_build(site: Path, tmp_path: Path) -> None:
    template = WorkloadTemplate("demo", site / "podium_demo_templates" / "demo")
    assert [str(v) for v in versions(template)] == ["1.0.0", "1.1.0"]
    assert pick_version(template, None) == "1.1.0" and pick_version(template, "1.0") == "1.0.0"
    tags = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        repository = build_repository(template, tmp_path / name)
        tags.append(git(repository, "show-ref", "--tags"))
    assert tags[0] == tags[1] and "refs/tags/1.0.0" in tags[0]


def test_the_deployed_template_comes_from_the_annotations() -> None:
    attributes = {
        "metadata.annotations.podium.dev/template": "python-web",
        "metadata.annotations.podium.dev/template-version": "1.1.0",
        "containers.web.image": "python:3.11",
    }
    ref = from_attributes(attributes)
    assert ref is not None and str(ref) == "python-web 1.1.0"
    assert from_attributes({"containers.web.image": "x"}) is None
    assert from_attributes(None) is None
