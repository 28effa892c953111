"""``podium plugins info``, ``podium doctor`` and ``podium plugin new`` through click."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from plugin_samples import SampleFactory

from podium.cli.main import cli
from podium.errors import NotFoundError


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    for name in ("PODIUM_NO_PLUGINS", "PODIUM_STRICT_PLUGINS", "PODIUM_CONFIG", "PODIUM_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_plugins_info_shows_settings_without_secrets(
    sample_dist: SampleFactory, runner: CliRunner, tmp_path: Path
) -> None:
    sample_dist("good", version="0.9.0")
    (tmp_path / "podium.toml").write_text(
        '[plugins]\nallow = ["good"]\n\n[plugins.good]\nregion = "eu-2"\n'
    )
    result = runner.invoke(cli, ["plugins", "info", "good", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["distribution"] == "podium-sample-good"
    assert data["version"] == "0.9.0"
    assert data["settings"] == {"region": "eu-2", "replicas": 1, "tags": []}
    assert data["registrations"] == {"provisioners": ["sample-echo"]}

    text = runner.invoke(cli, ["plugins", "info", "good"])
    assert "distribution: podium-sample-good" in text.output

    missing = runner.invoke(cli, ["plugins", "info", "nope"])
    # run_cli (not used by CliRunner) turns this into exit code 9 and one line.
    assert isinstance(missing.exception, NotFoundError)
    assert missing.exception.exit_code == 9
    assert "no plugin named 'nope'" in str(missing.exception)


def test_doctor_reports_failures_and_state(
    sample_dist: SampleFactory, runner: CliRunner, tmp_path: Path
) -> None:
    sample_dist("good")
    sample_dist("missing_dep")
    (tmp_path / "podium.toml").write_text('[plugins]\nallow = ["good", "missing-dep"]\n')
    result = runner.invoke(cli, ["--json", "doctor"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    checks = {c["check"]: c for c in report["checks"]}
    assert report["ok"] is False
    assert checks["config"]["status"] == "ok"
    assert checks["plugins"]["status"] == "fail"
    assert "podium-sample-missing-dep" in checks["plugin missing-dep"]["detail"]
    state = checks["state dev (sqlite)"]
    assert state["status"] == "ok", state
    assert state["detail"].startswith("serial ")


def test_doctor_passes_on_a_clean_platform(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--no-plugins", "doctor"])
    assert result.exit_code == 0, result.output
    assert "state dev (sqlite)" in result.output


def test_plugin_new_is_a_clear_error_for_a_bad_name(runner: CliRunner) -> None:
    # `podium plugin new` itself is tested in tests/scaffold/.
    from podium.errors import InputError

    result = runner.invoke(cli, ["plugin", "new", "Not-A-Name"])
    assert isinstance(result.exception, InputError)
    assert "is invalid" in str(result.exception)


def test_deprecated_hook_arguments_warn_naming_the_plugin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Declared with pluggy's warn_on_impl(_args); warned once each, naming plugin and place."""
    import inspect
    import warnings

    import deprecated_hookspecs
    from plugin_samples import make_manager

    from podium import hookimpl
    from podium.plugins import manager as manager_module
    from podium.plugins.deprecations import PodiumDeprecationWarning

    monkeypatch.setattr(
        manager_module,
        "HOOKSPEC_MODULES",
        (*manager_module.HOOKSPEC_MODULES, deprecated_hookspecs.__name__),
    )

    class Old:
        PODIUM_API = ">=1"

        @hookimpl
        def podium_test_hook(self, new: str, legacy: str) -> None:
            pass

        @hookimpl
        def podium_test_gone(self) -> None:
            pass

    class Current:
        PODIUM_API = ">=1"

        @hookimpl
        def podium_test_hook(self, new: str) -> None:
            pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = make_manager(load_entrypoints=False, plugins=[("old", Old()), ("new", Current())])
        manager.load()
    deprecations = [w for w in caught if issubclass(w.category, PodiumDeprecationWarning)]
    messages = sorted(str(w.message) for w in deprecations)
    assert messages == [
        "plugin 'old': argument 'legacy' of podium_test_hook is deprecated since plugin API 1.1 "
        "and will be removed in API 2.0: use 'new'",
        "plugin 'old': hook podium_test_gone is deprecated since plugin API 1.1 and will be "
        "removed in API 2.0: implement podium_test_hook",
    ]  # one each: pluggy did not warn a second, anonymous time; 'new' not at all
    here = inspect.getsourcefile(Old)
    # At the implementing function, where pluggy itself would point.
    lines = {inspect.getsourcelines(f)[1] for f in (Old.podium_test_hook, Old.podium_test_gone)}
    assert {w.lineno for w in deprecations} == lines
    assert {w.filename for w in deprecations} == {here}
    assert manager.plugin("old").hooks == ["podium_test_gone", "podium_test_hook"]
