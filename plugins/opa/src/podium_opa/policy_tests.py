"""``podium policy test``: run the ``test_*`` rules of Rego modules, like ``opa test``.

regopy has no test runner, so this is one: every rule named ``test_*`` is a test,
passing when it evaluates to ``true``. Tests run in worker processes, one per test file:
rego-cpp (regopy 1.3-1.5) crashes the process compiling some ``with input as {...}``
tests (a builtin called on the replaced input), and such a file must fail alone, not
take the run down. ``with input.workload as {...}`` (replacing a key) works.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from podium_opa.modules import RegoModule

Outcome = Literal["pass", "fail", "error"]
CRASH_HINT = (
    "the Rego engine crashed compiling this file; regopy crashes on `with input as "
    "{...}` when the rule calls a builtin on the input: replace a key instead (`with "
    "input.workload as {...}`)"
)


@dataclass(frozen=True)
class TestResult:
    file: str
    package: str
    name: str
    outcome: Outcome
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "package": self.package,
            "name": self.name,
            "outcome": self.outcome,
            "message": self.message,
        }


def run_tests(modules: Sequence[RegoModule], data: dict[str, Any]) -> list[TestResult]:
    """Every test, a worker per file holding tests, with every other module loaded.

    rego-cpp compiles all loaded modules on the first query, so a test that crashes
    it takes its whole file down: the file's tests are reported as errors, and the
    other files still run.
    """
    results: list[TestResult] = []
    for tested in [m for m in modules if m.tests]:
        loaded = [m for m in modules if not m.tests or m is tested]
        job = {
            "modules": [[str(m.path), m.text] for m in loaded],
            "data": data,
            "tests": [[tested.package, name] for name in tested.tests],
        }
        ran, problem = _run_worker(job)
        for name, (outcome, message) in zip(tested.tests, ran, strict=False):
            results.append(TestResult(str(tested.path), tested.package, name, outcome, message))
        for name in tested.tests[len(ran) :]:
            results.append(TestResult(str(tested.path), tested.package, name, "error", problem))
    return results


def _run_worker(job: dict[str, Any]) -> tuple[list[tuple[Outcome, str]], str]:
    """The results the worker printed, and why it stopped early if it did."""
    proc = subprocess.run(
        [sys.executable, "-m", "podium_opa.policy_tests"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
    )
    ran = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            ran.append((record["outcome"], record["message"]))
    if proc.returncode < 0:
        return ran, CRASH_HINT
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return ran, f"the test worker stopped (exit {proc.returncode}): {last}"


def _worker() -> None:
    """The worker: load the modules, evaluate each test, print one JSON line per test."""
    from regopy import Interpreter, LogLevel, RegoError

    from podium_opa.evaluator import first_expression, query_output, rego_error

    job = json.load(sys.stdin)
    interpreter = Interpreter()
    interpreter.log_level = LogLevel.NONE
    modules = {path: RegoModule(Path(path), text, "") for path, text in job["modules"]}

    def emit(outcome: str, message: str = "") -> None:
        print(json.dumps({"outcome": outcome, "message": message}), flush=True)

    try:
        for path, text in job["modules"]:
            interpreter.add_module(path, text)
        interpreter.add_data_json(json.dumps({"podium_config": job["data"]}))
    except RegoError as exc:
        problem = str(rego_error(exc, modules))
        for _ in job["tests"]:
            emit("error", problem)
        return
    for package, name in job["tests"]:
        text = query_output(interpreter, f"data.{package}.{name}")
        if text == "undefined":
            emit("fail", "undefined (a condition in its body is false)")
            continue
        try:
            value = first_expression(text)
        except Exception as exc:  # the engine's own error, reported for this test
            emit("error", str(exc).splitlines()[0])
            continue
        emit("pass" if value is True else "fail", "" if value is True else f"= {value!r}")


if __name__ == "__main__":
    _worker()
