"""Rego checks on workloads and plans, through the real CLI (issue 17, podium-opa)."""

from __future__ import annotations

from conftest import BAD, GOOD, Project

NO_DELETES_IN_PROD = """\
package podium.no_deletes

import rego.v1

deny_plan contains msg if {
	input.environment.tier == "prod"
	some change in input.plan.changes
	change.action == "delete"
	msg := sprintf("%s would be deleted in prod", [change.uid])
}
"""


def findings(project: Project, *args: str) -> dict[str, list[dict[str, object]]]:
    data = project.json("validate", *args)
    by_policy: dict[str, list[dict[str, object]]] = {}
    for finding in data["findings"]:
        by_policy.setdefault(finding["policy"], []).append(finding)
    return by_policy


def test_the_library_checks_workloads_at_file_and_line(project: Project) -> None:
    project.write("web.score.yaml", BAD)
    result = project.podium("validate", "-e", "prod", "-f", "web.score.yaml")
    assert result.returncode == 5, result.stdout + result.stderr
    found = findings(project, "-e", "prod", "-f", "web.score.yaml")
    assert found["opa.no-latest-image"][0]["location"] == "web.score.yaml:6:5"
    assert found["opa.no-latest-image"][0]["level"] == "mandatory"
    assert found["opa.allowed-registries"][0]["location"] == "web.score.yaml:6:5"
    assert len(found["opa.limits-required"]) == 2  # cpu and memory
    assert found["opa.limits-required"][0]["location"] == "web.score.yaml:5:3"
    assert found["opa.owner-annotation"][0]["location"] == "web.score.yaml:2:1"


def test_a_compliant_workload_passes_and_dev_is_lenient(project: Project) -> None:
    project.write("web.score.yaml", GOOD)
    found = findings(project, "-e", "prod", "-f", "web.score.yaml")
    assert not [p for p in found if p.startswith("opa.")], found
    project.write("web.score.yaml", BAD)
    dev = findings(project, "-e", "dev", "-f", "web.score.yaml")
    assert "opa.no-latest-image" not in dev and "opa.limits-required" not in dev
    assert dev["opa.owner-annotation"][0]["level"] == "advisory"  # a warn outside prod


def test_policies_set_levels_and_refuse_unknown_checks(project: Project) -> None:
    project.write("web.score.yaml", BAD)
    project.configure('"opa.limits-required" = "off"\n"opa.no-latest-image" = "advisory"')
    found = findings(project, "-e", "prod", "-f", "web.score.yaml")
    assert "opa.limits-required" not in found
    assert found["opa.no-latest-image"][0]["level"] == "advisory"
    project.configure('"opa.limits-requird" = "off"')
    result = project.podium("validate", "-e", "prod", "-f", "web.score.yaml")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "limits-requird" in result.stderr and "podium.toml" in result.stderr


def test_a_plan_policy_blocks_what_it_denies(project: Project) -> None:
    project.write("policy/no_deletes.rego", NO_DELETES_IN_PROD)
    project.write("web.score.yaml", GOOD)
    up = project.podium("up", "-e", "prod", "-f", "web.score.yaml", "--yes")
    assert up.returncode == 0, up.stdout + up.stderr
    destroy = project.podium("destroy", "-e", "prod", "--yes")
    assert destroy.returncode == 5, destroy.stdout + destroy.stderr
    assert "opa.no-deletes" in destroy.stderr
    assert "deployment:web would be deleted in prod" in destroy.stderr
    status = project.json("status", "-e", "prod")
    assert [w["workload"] for w in status] == ["web"]  # nothing was deleted


def test_a_literal_secret_never_reaches_a_policy(project: Project) -> None:
    """A policy that prints every variable's value sees the literal masked."""
    project.write(
        "policy/echo.rego",
        "package podium.echo\n\nimport rego.v1\n\n"
        "warn contains msg if {\n"
        "\tsome container in input.workload.containers\n"
        "\tsome key, value in container.variables\n"
        '\tmsg := sprintf("%s=%s", [key, value])\n}\n',
    )
    project.write("web.score.yaml", BAD)
    for command in ("validate", "plan"):
        result = project.podium(command, "-e", "dev", "-f", "web.score.yaml")
        output = result.stdout + result.stderr
        assert "DB_PASSWORD=<literal value masked>" in output, output
        assert "opa-canary-hunter2" not in output
        # --json plan embeds the Score file itself (its author's literal): check findings.
        data = project.json(command, "-e", "dev", "-f", "web.score.yaml")
        messages = [f["message"] for f in data["findings"] if f["policy"] == "opa.echo"]
        assert messages == ["DB_PASSWORD=<literal value masked>"]


def test_a_broken_module_is_refused_at_its_line(project: Project) -> None:
    project.write("web.score.yaml", GOOD)
    project.write(
        "policy/bad.rego", "package podium.bad\n\nimport rego.v1\n\ndeny if {\n  input.a ==\n}\n"
    )
    for command in ("validate", "plan"):
        result = project.podium(command, "-e", "dev", "-f", "web.score.yaml")
        assert result.returncode == 3, result.stdout + result.stderr
        assert "policy/bad.rego:6:11" in result.stderr
        assert "Invalid boolean operator" in result.stderr


def test_a_missing_policy_directory_fails_closed(project: Project) -> None:
    project.write("web.score.yaml", GOOD)
    (project.root / "policy").rmdir()
    result = project.podium("plan", "-e", "dev", "-f", "web.score.yaml")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "podium-opa" in result.stderr and "policy does not exist" in result.stderr


def test_a_check_defined_twice_names_both_files(project: Project) -> None:
    project.write("web.score.yaml", GOOD)
    project.write(
        "policy/mine.rego", "package podium.no_latest_image\n\nimport rego.v1\n\ndeny := set()\n"
    )
    result = project.podium("validate", "-e", "dev", "-f", "web.score.yaml")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "no-latest-image" in result.stderr and "mine.rego" in result.stderr
    assert "library = [" in result.stderr
