"""``examples/ci`` holds what ``podium ci generate`` writes for ``examples/aws-prod``, exactly.

The test regenerates both pipelines with the real CLI and the flags the example's README
gives, compares them byte for byte, and checks the committed files with actionlint and
GitLab's CI schema (the copy vendored in check-jsonschema).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from podium.testing import unavailable

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ci"
FILES = {
    "github": Path("github/.github/workflows/podium.yml"),
    "gitlab": Path("gitlab/.gitlab-ci.yml"),
}
FLAGS = [
    "--workdir",
    "examples/aws-prod",
    "--install",
    "python -m pip install podium podium-local podium-aws",
    "--secret",
    "AWS_ACCESS_KEY_ID",
    "--secret",
    "AWS_SECRET_ACCESS_KEY",
]


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        unavailable(f"{name} is not installed (core's test extra: pip install -e '.[test]')")
    return found


@pytest.mark.parametrize("system", sorted(FILES))
def test_the_example_pipelines_are_what_podium_generates(system: str, tmp_path: Path) -> None:
    readme = (EXAMPLE / "README.md").read_text()
    for flag in FLAGS:
        assert flag in readme, f"examples/ci/README.md no longer regenerates with {flag!r}"
    config = ROOT / "examples" / "aws-prod" / "podium.toml"
    result = subprocess.run(
        [sys.executable, "-m", "podium", "-c", str(config), "ci", "generate", system, *FLAGS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")},
    )
    assert result.returncode == 0, result.stderr
    committed = (EXAMPLE / FILES[system]).read_text()
    assert result.stdout == committed, (
        f"examples/ci/{FILES[system]} is out of date: regenerate it as examples/ci/README.md says"
    )
    assert not (ROOT / "examples" / "aws-prod" / ".podium").exists()  # generating opens no state


def test_the_example_workflow_passes_actionlint() -> None:
    path = EXAMPLE / FILES["github"]
    lint = subprocess.run(
        [_tool("actionlint"), "-shellcheck=", "-pyflakes=", str(path)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_example_pipeline_passes_the_gitlab_ci_schema() -> None:
    check = subprocess.run(
        [
            _tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.gitlab-ci",
            "--data-transform",
            "gitlab-ci",
            str(EXAMPLE / FILES["gitlab"]),
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
