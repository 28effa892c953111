"""Run the shell steps of a generated pipeline on this machine, the way the CI system would.

GitHub: a job's ``run:`` steps under ``bash -eo pipefail`` in ``defaults.run.working-directory``,
with the workflow's, job's and step's ``env:`` (GitHub expressions are looked up in a
context the test gives: any other expression fails the test, so a script can only use
what the test knows). ``uses:`` steps are emulated: checkout and setup-python are the
test's checkout and interpreter, upload/download-artifact copy files through a directory.
GitLab: ``before_script`` + ``script`` in one shell (a failing line fails the job), then
``after_script`` in a fresh shell from the project directory, with the job's variables.

The step installing Podium is not run (no package index here): the test's interpreter
already has Podium and the test's plugin; tests check that command separately.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
INSTALL_MARKER = "pip install"


@dataclass
class JobRun:
    """What ran: each step's name and result, in order."""

    steps: list[tuple[str, subprocess.CompletedProcess[str]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.returncode == 0 for _, result in self.steps)

    def output(self) -> str:
        return "\n".join(
            f"--- {name} (exit {r.returncode})\n{r.stdout}{r.stderr}" for name, r in self.steps
        )


def expand(value: Any, context: Mapping[str, str]) -> str:
    def lookup(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression not in context:
            raise AssertionError(
                f"the pipeline uses an expression the test does not know: {expression}"
            )
        return context[expression]

    return EXPRESSION.sub(lookup, str(value))


def _shell(
    script: str, cwd: Path, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def base_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The runner's environment: this interpreter's ``podium`` first on PATH, no PODIUM_* leaks."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PODIUM_", "FAKE_", "GITHUB_", "CI_"))
    }
    env.update(extra)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_github_job(
    workflow: dict[str, Any],
    job_name: str,
    *,
    repo: Path,
    artifacts: Path,
    context: Mapping[str, str],
    env: Mapping[str, str],
) -> JobRun:
    """Run ``job_name``'s steps in order; stop at the first failure unless ``if: always()``."""
    job = workflow["jobs"][job_name]
    workdir = repo / job.get("defaults", {}).get("run", {}).get("working-directory", ".")
    shared = {**workflow.get("env", {}), **job.get("env", {})}
    run = JobRun()
    failed = False
    summary = repo.parent / f"summary-{job_name}-{context.get('matrix.environment', '')}.md"
    summary.unlink(missing_ok=True)
    for step in job["steps"]:
        condition = step.get("if", "")
        if failed and "always()" not in condition:
            continue
        name = step.get("name") or step.get("uses", "")
        uses = step.get("uses")
        if uses:
            _emulate(uses, step.get("with", {}), repo, artifacts, context)
            continue
        script = step["run"]
        if INSTALL_MARKER in script:
            continue
        values = {k: expand(v, context) for k, v in {**shared, **step.get("env", {})}.items()}
        values["GITHUB_STEP_SUMMARY"] = str(summary)
        result = _shell(script, workdir, base_env({**env, **values}))
        run.steps.append((name, result))
        if result.returncode != 0 and not step.get("continue-on-error"):
            failed = True
    return run


def _emulate(
    uses: str, options: Mapping[str, Any], repo: Path, artifacts: Path, context: Mapping[str, str]
) -> None:
    action = uses.split("@", 1)[0]
    if action in ("actions/checkout", "actions/setup-python"):
        return  # the test's checkout and interpreter
    if action == "actions/upload-artifact":
        target = artifacts / expand(options["name"], context)
        target.mkdir(parents=True, exist_ok=True)
        for line in expand(options["path"], context).splitlines():
            source = repo / line.strip()
            if line.strip() and source.exists():
                shutil.copy(source, target / source.name)
        return
    if action == "actions/download-artifact":
        destination = repo / expand(options.get("path", "."), context)
        destination.mkdir(parents=True, exist_ok=True)
        if "name" in options:
            names = [expand(options["name"], context)]
        else:
            prefix = str(options["pattern"]).rstrip("*")
            names = [p.name for p in artifacts.iterdir() if p.name.startswith(prefix)]
        for name in names:
            for file in (artifacts / name).iterdir():
                shutil.copy(file, destination / file.name)
        return
    raise AssertionError(f"the test cannot emulate {uses}")


def run_gitlab_job(
    pipeline: dict[str, Any], job_name: str, *, repo: Path, env: Mapping[str, str]
) -> JobRun:
    """Run a GitLab job: before_script and script in one shell, then after_script."""
    job = _resolved(pipeline, job_name)
    default = pipeline.get("default", {})
    variables = {**pipeline.get("variables", {}), **job.get("variables", {})}
    values = base_env({**env, **{k: str(v) for k, v in variables.items()}})
    before = [line for line in default.get("before_script", []) if INSTALL_MARKER not in line]
    run = JobRun()
    main = "\n".join([*before, *job["script"]])
    run.steps.append(("script", _shell(main, repo, values)))
    if job.get("after_script"):
        run.steps.append(("after_script", _shell("\n".join(job["after_script"]), repo, values)))
    return run


def _resolved(pipeline: dict[str, Any], job_name: str) -> dict[str, Any]:
    """The job with its ``extends`` template merged in (hashes deeply, as GitLab does)."""
    job = dict(pipeline[job_name])
    parent = job.pop("extends", None)
    if parent is None:
        return job
    return _merge(_resolved(pipeline, parent), job)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def fake_tool(bin_dir: Path, name: str, log: Path) -> None:
    """A stand-in for ``gh``/``curl``: records its arguments and the body file it was given."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> "{log}"\n'
        'for arg in "$@"; do\n'
        '  case "$arg" in\n'
        f'    body@*) cat "${{arg#body@}}" >> "{log}.body" ;;\n'
        "  esac\n"
        "done\n"
        'prev=""\n'
        'for arg in "$@"; do\n'
        f'  if [ "$prev" = "--body-file" ]; then cat "$arg" >> "{log}.body"; fi\n'
        '  prev="$arg"\n'
        "done\n"
    )
    script.chmod(0o755)
