"""Plugins fail closed: the attacks of issue 10, item 6, run against the real ``podium`` CLI.

A platform directory gets real plugin distributions (a package and a
``.dist-info`` with RECORD, on PYTHONPATH, found by ``importlib.metadata`` like
a pip install): ``fake`` (tests/engine/fake_platform.py: directories as
resources, a JSON-file deployer) and ``guard``, a policy pack that blocks any
workload named ``forbidden-*``. Each attack breaks ``guard`` one way, then tries
to deploy ``forbidden-app``: the run must stop with exit 4 naming the plugin,
its distribution and version, before anything is written. Invalid settings stop
it too, as a config error (exit 3).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cli_project import FAKE_PLATFORM, CliProject, install_plugin

from podium.errors import ExitCode

CONFIG = """\
[platform]
name = "trust"

[plugins]
{allow}{plugins_extra}

[environments.dev]
deployer = "fake-deployer"

[[rules]]
type = "volume"
provisioner = "fake-dir"
{extra}"""

GUARD = '''\
"""A policy plugin: workloads named forbidden-* must never deploy."""

from pydantic import BaseModel

from podium import hookimpl
from podium.security.contract import Finding, PolicyPack

PODIUM_API = ">=1.0,<2"


class Settings(BaseModel):
    prefix: str = "forbidden-"


class Guard(PolicyPack):
    name = "guard"

    def __init__(self, settings):
        self.prefix = settings.prefix if settings else "forbidden-"

    def check_workload(self, workload, env):
        if workload.name.startswith(self.prefix):
            yield Finding("guard.forbidden", "this workload may not deploy", level="mandatory")


@hookimpl
def podium_policy_packs(settings):
    return [Guard(settings)]
'''

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: {name}
containers:
  main:
    image: example/app:1.0
resources:
  data:
    type: volume
"""


class Platform(CliProject):
    """A platform directory with plugin distributions in its own site directory."""

    strip = ("PODIUM_", "OTEL_")

    def __init__(self, root: Path) -> None:
        super().__init__(root, root / "site")
        self.install("podium-fake", "0.1.0", "fake", FAKE_PLATFORM.read_text())
        self.guard = self.install("podium-guard", "1.2.0", "guard", GUARD)
        self.configure()
        for name in ("honest-app", "forbidden-app"):
            (root / f"{name}.score.yaml").write_text(SCORE.format(name=name))

    def install(self, distribution: str, version: str, plugin: str, source: str) -> Path:
        """Install a one-package distribution with its RECORD; return its ``__init__.py``."""
        return install_plugin(
            self.site,
            plugin,
            source,
            module=distribution.replace("-", "_"),
            distribution=distribution,
            version=version,
            package=True,
            record=True,
        )

    def configure(
        self, *, plugins: str = "", extra: str = "", allow: list[str] | None = None
    ) -> None:
        """Write podium.toml; ``allow`` defaults to fake and guard, ``[]`` means no list."""
        names = ["fake", "guard"] if allow is None else allow
        listed = f"allow = {json.dumps(names)}\n" if names else ""
        text = CONFIG.format(allow=listed, plugins_extra=plugins, extra=extra)
        (self.root / "podium.toml").write_text(text)

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(**{"NO_COLOR": "1", **extra})

    def up(self, name: str, *flags: str) -> subprocess.CompletedProcess[str]:
        return self.podium(*flags, "up", "-e", "dev", "-f", f"{name}.score.yaml")

    def state_snapshot(self) -> dict[str, str]:
        """Every file under the state directory (state.db, the fake world) with its hash.

        The fake deployer's log of status calls is left out: reading status is allowed.
        """
        state = self.root / ".podium"
        return {
            path.relative_to(state).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(state.rglob("*"))
            if path.is_file() and path.name != "status-calls"
        }

    def deployed(self) -> list[str]:
        folder = self.root / ".podium" / "dev" / "fake-world" / "deployed"
        return sorted(p.stem for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    platform = Platform(tmp_path / "platform")
    honest = platform.up("honest-app")
    assert honest.returncode == 0, honest.stderr
    blocked = platform.up("forbidden-app")
    assert blocked.returncode == ExitCode.POLICY_BLOCKED, blocked.stderr  # guard works
    assert platform.deployed() == ["honest-app"]
    return platform


def _assert_refused_naming_guard(result: subprocess.CompletedProcess[str], why: str) -> None:
    assert result.returncode == ExitCode.PLUGIN_FAULT, result.stderr
    assert "plugin 'guard' (podium-guard 1.2.0)" in result.stderr, result.stderr
    assert "plan is refused" in result.stderr, result.stderr
    assert why in result.stderr, result.stderr
    assert "optional" in result.stderr  # the hint names the way out
    assert "Traceback" not in result.stderr


def _break_by_import(platform: Platform) -> str:
    platform.guard.write_text(
        'raise ImportError("podium_guard needs guard_rules, which is not installed")\n'
        + platform.guard.read_text()
    )
    return "guard_rules, which is not installed"


def _break_by_pin(platform: Platform) -> str:
    config = platform.root / "podium.toml"
    config.write_text(config.read_text().replace('"guard"]', '"guard>=2"]'))
    return "does not satisfy the pin >=2"


def _break_by_settings(platform: Platform) -> str:
    platform.configure(plugins="\n[plugins.guard]\nprefix = 42\n")
    return "invalid settings: podium.toml:8:1: plugins.guard.prefix"


def _break_by_lock(platform: Platform) -> str:
    locked = platform.podium("plugins", "lock")
    assert locked.returncode == 0, locked.stderr
    again = platform.up("honest-app")
    assert again.returncode == 0, again.stderr  # the lock itself refuses nothing
    platform.guard.write_text(platform.guard.read_text().replace('"forbidden-"', '"never-"'))
    return "1 file changed since locked"


BREAKS = {
    "import-error": _break_by_import,
    "failed-pin": _break_by_pin,
    "changed-since-lock": _break_by_lock,
}


@pytest.mark.parametrize("how", sorted(BREAKS))
def test_a_policy_plugin_that_fails_to_load_refuses_up_and_applies_nothing(
    platform: Platform, how: str
) -> None:
    why = BREAKS[how](platform)
    before = platform.state_snapshot()

    refused = platform.up("forbidden-app")

    _assert_refused_naming_guard(refused, why)
    assert platform.state_snapshot() == before
    assert platform.deployed() == ["honest-app"]

    as_json = platform.up("forbidden-app", "--json")
    assert as_json.returncode == ExitCode.PLUGIN_FAULT
    error = json.loads(as_json.stderr.strip().splitlines()[-1])
    assert (error["plugin"], error["distribution"], error["version"]) == (
        "guard",
        "podium-guard",
        "1.2.0",
    )
    assert error["error"] == "RequiredPluginError" and error["exit_code"] == 4
    assert as_json.stdout == ""
    for command in (
        ("plan", "-e", "dev", "-f", "honest-app.score.yaml"),
        ("destroy", "--yes"),
        ("validate", "-e", "dev", "-f", "forbidden-app.score.yaml"),  # no false "valid"
    ):
        other = platform.podium(*command)
        assert other.returncode == ExitCode.PLUGIN_FAULT, other.stderr
        assert "plugin 'guard' (podium-guard 1.2.0)" in other.stderr
    assert platform.state_snapshot() == before


@pytest.mark.parametrize("optional", [False, True])
def test_invalid_plugin_settings_are_a_config_error_before_anything_runs(
    platform: Platform, optional: bool
) -> None:
    """Issue 11 item 3: exit 3 at the file line and key, not a plugin fault or "no ... named"."""
    why = _break_by_settings(platform)
    if optional:  # the team wrote these settings: optional does not excuse them
        platform.configure(plugins='optional = ["guard"]\n[plugins.guard]\nprefix = 42\n')
    before = platform.state_snapshot()
    for command in (
        ("up", "-e", "dev", "-f", "forbidden-app.score.yaml"),
        ("plan", "-e", "dev", "-f", "honest-app.score.yaml"),
        ("validate", "-e", "dev", "-f", "forbidden-app.score.yaml"),
        ("plugins", "list"),
    ):
        result = platform.podium(*command)
        assert result.returncode == ExitCode.INVALID_INPUT, result.stderr
        assert why in result.stderr, result.stderr
        assert "plugin 'guard' (podium-guard 1.2.0)" in result.stderr
        assert "Traceback" not in result.stderr
    as_json = platform.up("forbidden-app", "--json")
    error = json.loads(as_json.stderr.strip().splitlines()[-1])
    assert error["exit_code"] == 3 and error["error"] == "PluginSettingsError"
    assert (error["file"], error["line"], error["field"]) == (
        "podium.toml",
        8,
        "plugins.guard.prefix",
    )
    assert platform.state_snapshot() == before
    assert platform.deployed() == ["honest-app"]


def test_without_an_allow_list_every_installed_plugin_must_load(platform: Platform) -> None:
    platform.configure(allow=[])
    why = _break_by_import(platform)
    before = platform.state_snapshot()
    refused = platform.up("forbidden-app")
    _assert_refused_naming_guard(refused, why)
    assert platform.state_snapshot() == before


def test_an_optional_plugin_that_fails_is_a_warning(platform: Platform) -> None:
    _break_by_import(platform)
    platform.configure(plugins='optional = ["guard"]')
    result = platform.up("honest-app")
    assert result.returncode == 0, result.stderr
    assert "plugin failed to load" in result.stderr and "podium-guard" in result.stderr
    listed = platform.podium("--json", "plugins", "list")
    guard = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}["guard"]
    assert guard["status"] == "failed" and guard["optional"] is True


def test_the_python_api_fails_closed_the_same_way(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podium.api import Platform as PodiumPlatform
    from podium.errors import PluginError
    from podium.plugins.discovery import clear_cache
    from podium.plugins.manager import RequiredPluginError

    monkeypatch.syspath_prepend(str(platform.site))
    monkeypatch.chdir(platform.root)
    clear_cache()
    try:
        with PodiumPlatform.from_file(platform.root / "podium.toml") as working:
            saved = working.plan("dev", ["honest-app.score.yaml"])  # made while guard worked
        why = _break_by_import(platform)
        sys.modules.pop("podium_guard", None)
        before = platform.state_snapshot()
        with PodiumPlatform.from_file(platform.root / "podium.toml") as broken:
            assert [s.workload for s in broken.status("dev")] == ["honest-app"]  # reads work
            # up and destroy are refused by the plan they start with.
            attempts = {
                "plan": lambda: broken.plan("dev", ["forbidden-app.score.yaml"]),
                "apply": lambda: broken.apply(saved),
                "up": lambda: broken.up("dev", ["forbidden-app.score.yaml"]),
                "destroy": lambda: broken.destroy("dev"),
                "rollback": lambda: broken.rollback("dev", "honest-app"),
                "validate": lambda: broken.validate("dev", ["forbidden-app.score.yaml"]),
            }
            for action, attempt in attempts.items():
                with pytest.raises(RequiredPluginError) as refused:
                    attempt()
                error = refused.value
                assert (error.plugin, error.distribution, error.version) == (
                    "guard",
                    "podium-guard",
                    "1.2.0",
                ), action
                refused_step = {"up": "plan", "destroy": "plan"}.get(action, action)
                assert f"so {refused_step} is refused" in str(error), (action, str(error))
                assert why in str(error) and error.exit_code == ExitCode.PLUGIN_FAULT
        assert platform.state_snapshot() == before
        with pytest.raises(PluginError, match="guard_rules"):
            PodiumPlatform.from_file(platform.root / "podium.toml", strict_plugins=True)
    finally:
        for module in ("podium_guard", "podium_fake"):
            sys.modules.pop(module, None)
        clear_cache()


def test_read_only_commands_report_the_failure_and_strict_refuses_them(
    platform: Platform,
) -> None:
    why = _break_by_import(platform)

    listed = platform.podium("--json", "plugins", "list")
    assert listed.returncode == 0, listed.stderr
    guard = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}["guard"]
    assert guard["status"] == "failed" and why in guard["error"]
    status = platform.podium("status", "-e", "dev")
    assert status.returncode == 0, status.stderr
    assert "honest-app" in status.stdout
    assert "guard" in status.stderr and "podium-guard" in status.stderr and why in status.stderr
    doctor = platform.podium("doctor")  # a failed plugin is a problem: exit 1 as ever
    assert doctor.returncode == ExitCode.ERROR, doctor.stderr
    assert "plugin guard" in doctor.stdout and why in doctor.stdout

    for flags, config in ((("--strict-plugins",), ""), ((), "strict = true")):
        platform.configure(plugins=config)
        for command in (("plugins", "list"), ("status", "-e", "dev")):
            strict = platform.podium(*flags, *command)
            assert strict.returncode == ExitCode.PLUGIN_FAULT, (command, strict.stderr)
            assert "podium-guard 1.2.0" in strict.stderr and why in strict.stderr


def _plant_bytecode(source: Path, code: str) -> Path:
    """Write the .pyc Python loads for ``source``: header matching its mtime and size."""
    stat = source.stat()
    target = Path(importlib.util.cache_from_source(str(source)))
    target.parent.mkdir(exist_ok=True)
    header = (
        importlib.util.MAGIC_NUMBER
        + (0).to_bytes(4, "little")  # flags 0: validated by the source's mtime and size
        + (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
        + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    )
    target.write_bytes(header + marshal.dumps(compile(code, str(source), "exec")))
    return target


def test_a_planted_pyc_after_locking_is_refused(platform: Platform) -> None:
    locked = platform.podium("plugins", "lock")
    assert locked.returncode == 0, locked.stderr
    lock = json.loads((platform.root / "podium.lock").read_text())
    guard_files = lock["plugins"]["guard"]["files"]
    assert "bytecode:podium_guard/__init__.py" in guard_files  # checked-hash .pyc, hashed
    marker = platform.root / "planted-code-ran"
    planted = GUARD.replace(
        "yield Finding(", "return\n            yield Finding("
    )  # the guard that never blocks
    _plant_bytecode(platform.guard, f"open({str(marker)!r}, 'w').close()\n" + planted)
    before = platform.state_snapshot()

    refused = platform.up("forbidden-app")

    _assert_refused_naming_guard(refused, "podium_guard/__init__.py (bytecode)")
    assert not marker.exists()  # refused before import: the planted code never ran
    assert platform.state_snapshot() == before
    assert platform.deployed() == ["honest-app"]
    # The attack is real: plain Python runs the planted bytecode for the unchanged source.
    subprocess.run([sys.executable, "-c", "import podium_guard"], env=platform.env(), check=True)
    assert marker.exists()


def test_deleting_locked_bytecode_is_refused_until_relocked(platform: Platform) -> None:
    assert platform.podium("plugins", "lock").returncode == 0
    shutil.rmtree(platform.guard.parent / "__pycache__")
    refused = platform.up("forbidden-app")
    _assert_refused_naming_guard(refused, "podium_guard/__init__.py (bytecode)")
    assert platform.podium("plugins", "lock").returncode == 0
    assert platform.up("honest-app").returncode == 0


NOISY = '''\
"""Writes a marker when imported, and prints to stdout every way it can."""

import os
import subprocess
from pathlib import Path

from podium import hookimpl

PODIUM_API = ">=1.0,<2"

Path(os.environ["NOISY_MARKER"]).write_text("imported")
print("noise from print at import")
os.write(1, b"noise on fd 1 at import\\n")


@hookimpl
def podium_platform_started(platform):
    print("noise from a hook")
    subprocess.run(["echo", "noise from a child process"], check=True)
'''


@pytest.fixture
def noisy(platform: Platform) -> Path:
    platform.install("podium-noisy", "0.3.0", "noisy", NOISY)
    return platform.root / "noisy-imported"


@pytest.mark.parametrize(
    "args",
    [
        ("--no-plugins", "--help"),
        ("--help", "--no-plugins"),
        ("--no-plugins", "tpyo"),
        ("--help",),  # ./podium.toml allows fake and guard only
        ("tpyo",),
        ("--config", "elsewhere/podium.toml", "--help"),
        ("--help", "--config", "elsewhere/podium.toml"),
        ("--config", "elsewhere/podium.toml", "tpyo"),
    ],
    ids=lambda args: " ".join(args),
)
def test_help_and_typos_import_no_plugin_that_is_not_allowed(
    platform: Platform, noisy: Path, args: tuple[str, ...]
) -> None:
    elsewhere = platform.root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "podium.toml").write_text('[plugins]\nallow = ["fake"]\n')

    result = platform.podium(*args, NOISY_MARKER=str(noisy))

    assert result.returncode in (0, ExitCode.USAGE), result.stderr
    assert not noisy.exists(), f"podium {' '.join(args)} imported a plugin that is not allowed"


def test_help_imports_allowed_plugins_for_their_commands(platform: Platform, noisy: Path) -> None:
    """The control for the test above: its marker does detect an import."""
    platform.configure(allow=["fake", "guard", "noisy"])
    result = platform.podium("--help", NOISY_MARKER=str(noisy))
    assert result.returncode == 0, result.stderr
    assert noisy.exists()


@pytest.mark.parametrize(
    "command",
    [
        ("--json", "plugins", "list"),
        ("plugins", "list", "--json"),
        ("--json", "status", "-e", "dev"),
        ("--json", "plan", "-e", "dev", "-f", "honest-app.score.yaml"),
        ("--json", "up", "-e", "dev", "-f", "honest-app.score.yaml"),
    ],
    ids=lambda args: " ".join(args),
)
def test_plugin_writes_to_stdout_stay_out_of_the_json_document(
    platform: Platform, noisy: Path, command: tuple[str, ...]
) -> None:
    platform.configure(allow=["fake", "guard", "noisy"])
    result = platform.podium(*command, NOISY_MARKER=str(noisy))
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert "noise" not in result.stdout
    for noise in ("from print at import", "on fd 1 at import", "from a hook", "child process"):
        assert noise in result.stderr, (noise, result.stderr)


HANGING = """\
import time

from podium import hookimpl
from podium.provisioning import Provisioner

PODIUM_API = ">=1.0,<2"


@hookimpl
def podium_provisioners():
    time.sleep(3600)  # hung on a dead backend
    return []
"""


def test_a_hanging_registration_hook_times_out_naming_the_plugin(platform: Platform) -> None:
    platform.install("podium-stuck", "4.5.6", "stuck", HANGING)
    platform.configure(allow=["fake", "guard", "stuck"], plugins="registration_timeout = 0.5")
    before = platform.state_snapshot()

    started = time.monotonic()
    refused = platform.up("honest-app")
    elapsed = time.monotonic() - started

    assert refused.returncode == ExitCode.PLUGIN_FAULT, refused.stderr
    assert "plugin 'stuck' (podium-stuck 4.5.6)" in refused.stderr
    assert "in podium_provisioners: did not return within 0.5s" in refused.stderr
    assert "registration_timeout" in refused.stderr
    assert elapsed < 8, f"took {elapsed:.1f}s: the hung thread kept the process alive?"
    assert platform.state_snapshot() == before

    listed = platform.podium("--json", "plugins", "list")
    assert listed.returncode == 0, listed.stderr
    stuck = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}["stuck"]
    assert stuck["status"] == "failed" and "did not return within 0.5s" in stuck["error"]


def test_the_registration_timeout_default_is_documented_in_the_config_schema() -> None:
    from podium.config.models import PluginsSection

    field: Any = PluginsSection.model_fields["registration_timeout"]
    assert field.default == 10.0 and "hung" in field.description
