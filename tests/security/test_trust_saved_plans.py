"""Saved plans are verified, not trusted: each attack on a plan file, run through the real CLI.

A plan file travels between ``podium plan --out`` and ``podium apply``; whoever
can edit it on the way tries to remove a mandatory finding, inject a command
into the embedded Score source, widen the platform's rule params or point it at
another environment. Each attempt must be refused (exit 12) before anything is
written to state, while an honest saved plan still applies and a plan made
before state moved on is still "stale" (exit 8).

The project uses the engine tests' on-disk fake provisioner and a small deployer
that really runs each container's ``command``, so an injected command that ran
would leave its marker file behind.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_project import FAKE_PLATFORM, CliProject, install_plugin, load_module

RUNNER = '''\
"""A deployer that runs each container's command once at deploy time."""

import json
import subprocess
from pathlib import Path

from podium import hookimpl
from podium.deployment import Deployer, DeploymentResult, WorkloadStatus

PODIUM_API = ">=1.0,<2"


class RunDeployer(Deployer):
    name = "runner"

    def file(self, ctx):
        return Path(ctx.env.state_dir) / "runner" / f"{ctx.workload}.json"

    def deploy(self, ctx, workload):
        for container in workload.containers.values():
            if container.command:
                subprocess.run([*container.command, *container.args], check=True)
        self.file(ctx).parent.mkdir(parents=True, exist_ok=True)
        self.file(ctx).write_text(json.dumps({"release": ctx.release}))
        return DeploymentResult(urls=[], message="ran")

    def status(self, ctx):
        state = "ready" if self.file(ctx).exists() else "absent"
        return WorkloadStatus(workload=ctx.workload, state=state)

    def logs(self, ctx, *, container=None, follow=False, tail=None):
        return iter(())

    def destroy(self, ctx):
        self.file(ctx).unlink(missing_ok=True)


@hookimpl
def podium_deployers():
    return [RunDeployer()]
'''

CONFIG = """\
[platform]
name = "plantrust"
workloads = ["*.score.yaml"]

[plugins]
allow = ["fake", "runner"]

[environments.dev]
deployer = "runner"

[environments.prod]
deployer = "runner"

[[rules]]
type = "volume"
provisioner = "fake-dir"
params = { size = "1Gi" }
"""

WEB = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: {image}
    command: ["touch", "{honest}"]
    variables:
      DATA: ${{resources.data.source}}
      DB_PASSWORD: ${{resources.data.password}}
resources:
  data:
    type: volume
"""


class Project(CliProject):
    """A platform directory whose plugins are installed for real through a site dir."""

    timeout = 90

    def __init__(self, root: Path, image: str = "example/web:1.0") -> None:
        super().__init__(root, root / "site")
        install_plugin(self.site, "fake", FAKE_PLATFORM.read_text(), module="fake_platform")
        install_plugin(self.site, "runner", RUNNER, module="runner_plugin")
        (root / "podium.toml").write_text(CONFIG)
        self.honest = root / "honest-ran"
        self.injected = root / "INJECTED-COMMAND-RAN"
        self.score = root / "web.score.yaml"
        self.score.write_text(WEB.format(image=image, honest=self.honest))

    def state(self, env: str = "dev") -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.json("state", "list", "-e", env)
        return records

    def history(self, env: str = "dev") -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.json("history", "-e", env)
        return entries

    def saved(self, name: str = "plan.json") -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / name).read_text())
        return data

    def tamper(self, edit: Callable[[dict[str, Any]], None], name: str = "plan.json") -> None:
        data = self.saved(name)
        edit(data)
        (self.root / name).write_text(json.dumps(data, indent=2))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "platform")


def assert_refused(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    assert "Traceback" not in result.stderr


def assert_nothing_applied(project: Project, env: str = "dev") -> None:
    assert project.state(env) == []
    # the refused attempt is in the audit trail; no run is
    assert all(entry["status"] == "blocked" for entry in project.history(env))
    assert not project.honest.exists() and not project.injected.exists()


def change(data: dict[str, Any], uid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in data["changes"] if c["uid"] == uid)
    return found


# --------------------------------------------------------------------- honest use
def test_honest_saved_plan_applies_and_is_stale_once_state_moved_on(project: Project) -> None:
    project.ok("plan", "--out", "plan.json")
    assert project.saved()["format"] == 3
    applied = project.ok("apply", "plan.json")
    assert "Apply complete" in applied.stdout
    assert project.honest.exists()
    assert {r["uid"] for r in project.state()} == {"volume.default#web.data", "deployment:web"}
    # state moved on since the plan: still "stale" (8), not "unverified" (12)
    again = project.podium("apply", "plan.json")
    assert_refused(again, 8, "changed since this plan was made")


def test_a_plan_made_in_one_checkout_applies_in_another(project: Project, tmp_path: Path) -> None:
    project.ok("plan", "--out", "plan.json")
    assert project.saved()["workloads"][0]["path"] == "web.score.yaml"  # relative to the root
    moved = tmp_path / "deploy-job"
    shutil.copytree(project.root, moved)
    project.root = moved
    project.site = moved / "site"
    project.ok("apply", "plan.json")
    assert {r["uid"] for r in project.state()} == {"volume.default#web.data", "deployment:web"}


def test_honest_plan_with_findings_applies_from_a_relative_file(project: Project) -> None:
    # prod: an advisory finding (no probes) whose location names the file as it was given
    project.ok("plan", "-e", "prod", "-f", "web.score.yaml", "--out", "plan.json")
    findings = project.saved()["findings"]
    assert [f["policy"] for f in findings] == ["builtin.probes-required"]
    assert findings[0]["location"].startswith("web.score.yaml:")
    project.ok("apply", "plan.json")
    assert "deployment:web" in {r["uid"] for r in project.state("prod")}


def test_honest_refresh_destroy_and_prune_plans_apply(project: Project) -> None:
    project.ok("up")
    project.ok("plan", "--refresh", "--out", "refresh.json")
    project.ok("apply", "refresh.json")
    other = project.root / "other.score.yaml"
    other.write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: other\ncontainers:\n"
        "  main:\n    image: example/other:1.0\n"
    )
    project.ok("up", "-f", str(other))
    other.unlink()
    # --prune deletes 'other', which is in state but in no file
    project.ok("plan", "--prune", "--out", "prune.json")
    assert project.saved("prune.json")["prune"] is True
    project.ok("apply", "prune.json")
    assert "deployment:other" not in {r["uid"] for r in project.state()}
    project.ok("plan", "--destroy", "--out", "destroy.json")
    project.ok("apply", "destroy.json")
    assert project.state() == []


# ------------------------------------------------------------------------ attacks
@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (
            lambda f: f.clear(),
            "the mandatory finding builtin.no-latest-image on web/main is missing",
        ),
        (
            lambda f: f[0].update(level="advisory"),
            "builtin.no-latest-image on web/main is mandatory when recomputed, advisory in the file",
        ),
    ],
    ids=["removed", "downgraded"],
)
def test_removed_or_downgraded_mandatory_finding_is_refused(
    tmp_path: Path, edit: Callable[[list[dict[str, Any]]], None], says: str
) -> None:
    project = Project(tmp_path / "platform", image="example/web")  # floating: mandatory in prod
    blocked = project.podium("plan", "-e", "prod", "--out", "plan.json")
    assert blocked.returncode == 5, blocked.stderr
    project.tamper(lambda data: edit(data["findings"]))
    result = project.podium("apply", "plan.json")
    assert_refused(result, 12, says, "nothing was applied")
    assert_nothing_applied(project, "prod")


@pytest.mark.parametrize("keep_path", [True, False], ids=["path-kept", "path-removed"])
def test_edited_source_with_injected_command_is_refused_and_never_runs(
    project: Project, keep_path: bool
) -> None:
    project.ok("plan", "--out", "plan.json")

    def inject(data: dict[str, Any]) -> None:
        workload = data["workloads"][0]
        workload["source"] = workload["source"].replace(str(project.honest), str(project.injected))
        if not keep_path:  # a workload without a file: no trusted owner, so no plan at all
            workload["path"] = ""

    project.tamper(inject)
    result = project.podium("apply", "plan.json")
    if keep_path:
        assert_refused(result, 12, "workloads[web]: the source embedded in the plan differs from")
    else:
        assert_refused(result, 3, "nothing trusted says who owns it")
    assert_nothing_applied(project)


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/dev/zero", "the plan names the Score file /dev/zero, which is not a Score file here"),
        ("../../../../../../../../etc/passwd", "the source embedded in the plan differs from"),
        ("missing.score.yaml", "missing.score.yaml, which does not exist here"),
    ],
    ids=["device", "operator-file", "missing"],
)
def test_a_plan_naming_another_file_is_refused_without_reading_it(
    project: Project, path: str, says: str
) -> None:
    project.ok("plan", "--out", "plan.json")
    project.tamper(lambda data: data["workloads"][0].update(path=path))
    result = project.podium("apply", "plan.json")  # reading /dev/zero whole never returns
    assert_refused(result, 12, "workloads[web]: the ", says)
    assert "root:" not in result.stderr  # nothing of /etc/passwd is echoed
    assert_nothing_applied(project)


def test_widened_rule_params_are_refused(project: Project) -> None:
    project.ok("plan", "--out", "plan.json")
    project.tamper(
        lambda data: change(data, "volume.default#web.data")["spec"]["rule_params"].update(
            size="100Ti", public=True
        )
    )
    result = project.podium("apply", "plan.json")
    assert_refused(
        result,
        12,
        "changes[volume.default#web.data].spec.rule_params.public differs",
        "changes[volume.default#web.data].spec.rule_params.size differs",
    )
    assert "100Ti" not in result.stderr  # fields are named, values never printed
    assert_nothing_applied(project)
    assert not (project.root / ".podium" / "dev" / "fake-world" / "dirs").exists()


def test_added_change_is_refused(project: Project) -> None:
    project.ok("up")
    project.ok("plan", "--out", "plan.json")
    history_before = len(project.history())

    def delete_data(data: dict[str, Any]) -> None:
        data["changes"].append(
            {**change(data, "volume.default#web.data"), "action": "delete", "spec": {}}
        )

    project.tamper(delete_data)
    result = project.podium("apply", "plan.json")
    assert_refused(result, 12, "changes[volume.default#web.data] appears 2 times")
    history = project.history()
    assert len(history) == history_before + 1  # the refused attempt, in the audit trail
    assert history[0]["status"] == "blocked" and history[0]["reason"] == "unverified-plan"
    assert "volume.default#web.data" in {r["uid"] for r in project.state()}


@pytest.mark.parametrize("how", ["flag", "PODIUM_ENV"])
def test_dev_plan_applied_to_prod_is_refused(project: Project, how: str) -> None:
    project.ok("plan", "-e", "dev", "--out", "plan.json")
    if how == "flag":
        result = project.podium("apply", "plan.json", "-e", "prod")
    else:
        result = project.podium("apply", "plan.json", PODIUM_ENV="prod")
    assert_refused(result, 12, "the plan is for environment 'dev', not 'prod'")
    assert_nothing_applied(project, "dev")
    assert_nothing_applied(project, "prod")
    # naming the plan's own environment is fine
    project.ok("apply", "plan.json", "-e", "dev")


def test_plan_for_another_platform_is_refused(project: Project) -> None:
    project.ok("plan", "--out", "plan.json")
    project.tamper(lambda data: data.update(platform="elsewhere"))
    result = project.podium("apply", "plan.json")
    assert_refused(result, 12, "the plan is for platform 'elsewhere', not 'plantrust'")
    assert_nothing_applied(project)


@pytest.mark.parametrize(
    ("version", "says"),
    [
        (None, "no format version: it was saved by an older Podium"),
        (1, "this Podium reads formats 2, 3 only"),
        (99, "the plan file has format 99, newer than this Podium reads (format 3)"),
        ("2", "the plan file has format '2'"),
    ],
)
def test_plan_without_or_with_another_format_version_is_refused(
    project: Project, version: Any, says: str
) -> None:
    project.ok("plan", "--out", "plan.json")

    def set_version(data: dict[str, Any]) -> None:
        if version is None:
            del data["format"]
        else:
            data["format"] = version

    project.tamper(set_version)
    result = project.podium("apply", "plan.json")
    assert_refused(
        result, 3, "plan.json: format: the plan file has", says, "podium plan --out FILE"
    )
    assert_nothing_applied(project)


# ------------------------------------------------------------------ no secret key
def test_plan_and_its_verification_need_no_state_key(project: Project) -> None:
    project.ok("up")
    password = next((project.root / ".podium" / "dev" / "fake-world" / "dirs").glob("*/password"))
    key = project.root / ".podium" / "key"
    hidden = project.root / "key.away"
    key.rename(hidden)
    project.score.write_text(project.score.read_text().replace("DATA:", "DATA_DIR:"))
    # a pull-request pipeline without the key can still plan ...
    project.ok("plan", "--out", "plan.json")
    assert not key.exists()  # ... and no new key was made up on the way
    text = (project.root / "plan.json").read_text()
    assert password.read_text() not in text  # plan files never hold secret values
    # ... and verification refuses an edited plan without needing the key either
    project.tamper(lambda data: change(data, "deployment:web")["spec"].update(digest="0" * 16))
    tampered = project.podium("apply", "plan.json")
    assert_refused(tampered, 12, "changes[deployment:web].spec.digest differs")
    assert not key.exists()
    # the deploy job holds the key: an honest plan made without it applies
    project.ok("plan", "--out", "plan.json")
    hidden.rename(key)
    project.ok("apply", "plan.json")
    # two runs, and the refused attempt in between (recorded without the key: history
    # holds no secret, and this state already has its key check)
    assert [(e["operation"], e["status"]) for e in project.history()] == [
        ("apply", "succeeded"),
        ("apply", "blocked"),
        ("apply", "succeeded"),
    ]


# --------------------------------------------------------- in-process (embedders)
def test_only_plans_not_made_by_the_platform_are_recomputed(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podium.api import Platform
    from podium.engine import verify
    from podium.engine.plan import Plan
    from podium.errors import PlanVerificationError

    plugins = [
        ("fake", load_module(project.site / "fake_platform.py", "plantrust_fake")),
        ("runner", load_module(project.site / "runner_plugin.py", "plantrust_runner")),
    ]
    calls: list[str] = []
    real = verify.verify_saved_plan

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append("verify")
        return real(*args, **kwargs)

    monkeypatch.setattr(verify, "verify_saved_plan", counting)
    with Platform.from_file(
        project.root / "podium.toml", plugins=plugins, load_entrypoints=False
    ) as platform:
        # up = plan + apply of the plan object just made: no recomputation
        assert platform.up("dev", [project.score])[1].ok
        assert calls == []
        project.score.write_text(project.score.read_text().replace("DATA:", "DATA_DIR:"))
        copy = Plan.from_dict(json.loads(platform.plan("dev", [project.score]).to_json()))
        copy.changes[0].spec["rule_params"] = {"size": "100Ti"}
        with pytest.raises(PlanVerificationError, match=r"rule_params\.size differs"):
            platform.apply(copy)
        assert calls == ["verify"]
        honest = Plan.from_dict(json.loads(platform.plan("dev", [project.score]).to_json()))
        assert platform.apply(honest).ok
        assert calls == ["verify", "verify"]
