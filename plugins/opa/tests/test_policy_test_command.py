"""``podium policy test``: Rego unit tests run like ``opa test``, one worker per file."""

from __future__ import annotations

import json

from conftest import Project

CHECK = """\
package podium.floating

import rego.v1

deny contains msg if {
	some name, container in input.workload.containers
	endswith(container.image, ":latest")
	msg := sprintf("%s floats", [name])
}
"""

TESTS = """\
package podium.floating_test

import data.podium.floating
import rego.v1

test_latest_is_denied if {
	count(floating.deny) == 1 with input.workload as {"containers": {"main": {"image": "a:latest"}}}
}

test_pinned_passes if {
	count(floating.deny) == 0 with input.workload as {"containers": {"main": {"image": "a:1"}}}
}

test_wrong_expectation if {
	count(floating.deny) == 2 with input.workload as {"containers": {"main": {"image": "a:latest"}}}
}
"""

#: rego-cpp crashes compiling this (whole-input `with` + a builtin on the input).
CRASHING = """\
package podium.crashing_test

import data.podium.floating
import rego.v1

test_whole_input if {
	count(floating.deny) == 1 with input as {"workload": {"containers": {"m": {"image": "a:latest"}}}}
}
"""


def test_the_shipped_library_passes_its_own_tests(project: Project) -> None:
    result = project.podium("policy", "test", "--library", "-v")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  podium.no_latest_image_test.test_latest_is_denied_in_prod" in result.stdout
    passed, total = result.stdout.strip().splitlines()[-1].split()[0].split("/")
    assert passed == total and int(total) >= 15


def test_results_name_each_test_and_failures_exit_5(project: Project) -> None:
    project.write("policy/floating.rego", CHECK)
    project.write("policy/floating_test.rego", TESTS)
    result = project.podium("policy", "test", "policy")
    assert result.returncode == 5, result.stdout + result.stderr
    assert "FAIL  podium.floating_test.test_wrong_expectation" in result.stdout
    assert "test_latest_is_denied" not in result.stdout  # passing tests only with -v
    assert "1 of 3 Rego tests failed" in result.stderr
    data = json.loads(project.podium("--json", "policy", "test", "policy").stdout)
    outcomes = {t["name"]: t["outcome"] for t in data["tests"]}
    assert outcomes == {
        "test_latest_is_denied": "pass",
        "test_pinned_passes": "pass",
        "test_wrong_expectation": "fail",
    }
    assert (data["passed"], data["failed"]) == (2, 1)


def test_a_file_that_crashes_the_engine_fails_alone(project: Project) -> None:
    project.write("policy/floating.rego", CHECK)
    project.write("policy/floating_test.rego", TESTS.replace("test_wrong_expectation", "x"))
    project.write("policy/crashing_test.rego", CRASHING)
    data = json.loads(project.podium("policy", "test", "--json", "policy").stdout)
    outcomes = {t["name"]: (t["outcome"], t["message"]) for t in data["tests"]}
    assert outcomes["test_whole_input"][0] == "error"
    assert "with input.workload as" in outcomes["test_whole_input"][1]
    assert outcomes["test_latest_is_denied"] == ("pass", "")
    assert outcomes["test_pinned_passes"] == ("pass", "")


def test_a_module_that_does_not_compile_is_reported_at_its_line(project: Project) -> None:
    project.write(
        "policy/broken_test.rego", "package podium.broken_test\n\ntest_x if {\n  1 ==\n}\n"
    )
    result = project.podium("policy", "test", "policy")
    assert result.returncode == 5, result.stdout + result.stderr
    assert "broken_test.rego:4:" in result.stdout


def test_nothing_to_test_is_an_error_not_a_pass(project: Project) -> None:
    project.write("policy/floating.rego", CHECK)
    result = project.podium("policy", "test", "policy")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "no test_* rule found" in result.stderr
