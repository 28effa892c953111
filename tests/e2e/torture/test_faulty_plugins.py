"""Plugins that raise, hang, return the wrong type or fail to import.

Each fault must surface as a clear error naming the plugin and its distribution,
the work that does not depend on the faulty plugin must complete, and the state
must still equal reality afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from torture_project import CONFIG, Project, check_state_is_reality

from podium.errors import ExitCode, PluginError

FAULTY = """
import threading
from podium import hookimpl
from podium.provisioning import Provisioner

PODIUM_API = ">=1.0,<2"
RELEASE = threading.Event()  # set by the test to let hung calls finish


class Raises(Provisioner):
    name = "raises"
    resource_type = "raises"
    def create(self, ctx):
        raise RuntimeError("the backend exploded")
    def read(self, ctx):
        return None
    def delete(self, ctx):
        pass


class Hangs(Provisioner):
    name = "hangs"
    resource_type = "hangs"
    def create(self, ctx):
        RELEASE.wait(60)
        return {}
    def read(self, ctx):
        return None
    def delete(self, ctx):
        pass


class WrongType(Provisioner):
    name = "wrong-type"
    resource_type = "wrong-type"
    def create(self, ctx):
        return ["outputs", "must", "be", "a", "mapping"]
    def read(self, ctx):
        return None
    def delete(self, ctx):
        pass


@hookimpl
def podium_provisioners():
    return [Raises(), Hangs(), WrongType()]
"""

BROKEN = """
raise ImportError("podium_broken needs a module that is not installed")
"""

RULES = """
[[rules]]
type = "raises"
provisioner = "raises"

[[rules]]
type = "hangs"
provisioner = "hangs"

[[rules]]
type = "wrong-type"
provisioner = "wrong-type"
"""

WORKLOAD = """\
apiVersion: score.dev/v1b1
metadata:
  name: app
containers:
  main:
    image: example/app:1
resources:
  good-one:
    type: dir
  good-two:
    type: dir
    params:
      up: ${resources.good-one.path}
  exploding:
    type: raises
  after-exploding:
    type: dir
    params:
      up: ${resources.exploding.id}
  hanging:
    type: hangs
  wrong:
    type: wrong-type
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    # broken is optional: the platform is declared safe without it, so its failure to
    # import is a warning and the rest still works (fail-closed is the default).
    config = CONFIG.replace(
        'allow = ["torture"]', 'allow = ["torture", "faulty", "broken"]\noptional = ["broken"]'
    )
    config = config.replace("retries = 0", "retries = 0\ntimeout = 1.0") + RULES
    project = Project(tmp_path, config)
    project.install("podium-faulty", "2.3.4", "faulty", FAULTY)
    project.install("podium-broken", "0.0.1", "broken", BROKEN)
    (tmp_path / "app.score.yaml").write_text(WORKLOAD)
    return project


def test_faults_are_named_and_independent_work_completes(project: Project) -> None:
    with project.platform() as platform:
        import podium_faulty  # loaded by the platform through its entry point

        try:
            _, result = platform.up("dev", [project.root / "app.score.yaml"])
        finally:
            podium_faulty.RELEASE.set()
        outcome = {r.uid.split(".", 1)[1]: r for r in result.results}
        assert outcome["default#app.good-one"].status == "succeeded"
        assert outcome["default#app.good-two"].status == "succeeded"
        assert outcome["default#app.after-exploding"].status == "skipped"
        for uid, words in {
            "default#app.exploding": ("the backend exploded",),
            "default#app.hanging": ("did not finish within 1s",),
            "default#app.wrong": ("list",),
        }.items():
            failed = outcome[uid]
            assert failed.status == "failed", failed
            for word in ("faulty", "podium-faulty", "2.3.4", *words):
                assert word in failed.message, f"{uid}: {word!r} not in {failed.message!r}"
        # A failed create leaves its intent pending (it may have half-happened); the next
        # plan asks the provider what exists and resolves it.
        assert {i.node for i in platform.store("dev").pending_intents()} == {
            outcome[uid].uid
            for uid in ("default#app.exploding", "default#app.hanging", "default#app.wrong")
        }
        replan = platform.plan("dev", [project.root / "app.score.yaml"])
        check_state_is_reality(platform, project.world, {"good-one", "good-two"})
        recorded = {r.uid for r in platform.store("dev").records()}
        assert not any(word in uid for uid in recorded for word in ("exploding", "hang", "wrong"))
        assert {c.uid for c in replan.changes if c.action == "create"} == {
            outcome[uid].uid
            for uid in (
                "default#app.exploding",
                "default#app.after-exploding",
                "default#app.hanging",
                "default#app.wrong",
            )
        }


def test_a_plugin_that_fails_to_import_is_named_and_the_rest_still_works(
    project: Project,
) -> None:
    (project.root / "app.score.yaml").write_text(
        WORKLOAD.split("  exploding:")[0]  # only the torture plugin's resources
    )
    config = project.root / "podium.toml"
    optional = config.read_text()
    config.write_text(optional.replace('optional = ["broken"]\n', ""))
    refused = project.run("apply", "--yes")  # not optional: the change fails closed
    assert refused.returncode == ExitCode.PLUGIN_FAULT, refused.stderr
    assert "podium-broken 0.0.1" in refused.stderr and refused.stdout == ""
    assert "plan is refused" in refused.stderr and "Traceback" not in refused.stderr
    with project.platform() as platform:
        check_state_is_reality(platform, project.world, set())
    config.write_text(optional)
    done = project.run("apply", "--yes")
    assert done.returncode == 0, done.stderr
    assert "podium-broken" in done.stderr and "0.0.1" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    # Strict mode refuses what is not optional, read-only commands included.
    lenient = project.run("--strict-plugins", "status")
    assert lenient.returncode == 0, lenient.stderr
    config.write_text(optional.replace('optional = ["broken"]\n', ""))
    strict = project.run("--strict-plugins", "status")
    assert strict.returncode == ExitCode.PLUGIN_FAULT, strict.stderr
    assert "broken" in strict.stderr and "podium-broken" in strict.stderr
    assert "not installed" in strict.stderr and "Traceback" not in strict.stderr
    with project.platform() as platform:
        check_state_is_reality(platform, project.world, {"good-one", "good-two"})
        with pytest.raises(PluginError) as caught:
            type(platform)(platform.config, root=project.root, strict_plugins=True)
        assert caught.value.distribution == "podium-broken"
