from __future__ import annotations

import sys

import pytest
from plugin_samples import SampleFactory, by_name, make_manager

from podium.errors import (
    IncompatiblePluginError,
    NotFoundError,
    PluginConflictError,
    PluginError,
)


def test_broken_plugins_are_isolated_and_named(sample_dist: SampleFactory) -> None:
    good = sample_dist("good")
    sample_dist("broken_import")
    sample_dist("missing_dep")
    sample_dist("bad_registration")

    plugins = by_name(
        make_manager(allow=["good", "broken-import", "missing-dep", "bad-registration"])
    )

    assert plugins["good"].status == "loaded"
    assert plugins["good"].registrations == {"provisioners": ["sample-echo"]}
    assert good.package in sys.modules

    broken = plugins["broken-import"]
    assert broken.status == "failed"
    assert isinstance(broken.error, PluginError)
    assert broken.error.distribution == "podium-sample-broken-import"
    assert broken.error.version == "1.0.0"
    assert "sample plugin is broken on purpose" in str(broken.error)
    assert "podium-sample-broken-import 1.0.0" in str(broken.error)

    missing = plugins["missing-dep"]
    assert missing.status == "failed"
    assert "missing dependency 'podium_sample_dependency_that_is_not_installed'" in str(
        missing.error
    )

    bad = plugins["bad-registration"]
    assert bad.status == "failed"
    assert "returned str, not a Provisioner" in str(bad.error)
    assert bad.registrations == {}


def test_good_plugin_still_serves_beside_failures(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    sample_dist("broken_import")
    manager = make_manager(allow=["good", "broken-import"])
    assert manager.provisioner("sample-echo").name == "sample-echo"
    assert [r.value for r in manager.broadcast("podium_event", event=_Event("x"))] == ["good saw x"]


def test_strict_mode_raises_the_first_fault(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    sample_dist("broken_import")
    with pytest.raises(PluginError, match="broken on purpose") as raised:
        make_manager(allow=["good", "broken-import"], strict=True).load()
    assert raised.value.distribution == "podium-sample-broken-import"


@pytest.mark.parametrize("how", ["env", "config"])
def test_strict_mode_from_env_or_config(sample_dist: SampleFactory, how: str) -> None:
    sample_dist("missing_dep")
    if how == "env":
        manager = make_manager(allow=["missing-dep"], environ={"PODIUM_STRICT_PLUGINS": "1"})
    else:
        manager = make_manager(allow=["missing-dep"], settings={"strict": True})
    assert manager.strict
    with pytest.raises(PluginError, match="missing dependency"):
        manager.load()


def test_allowlist_imports_only_allowed_plugins(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    other = sample_dist("old_api")
    plugins = by_name(make_manager(allow=["good"]))
    assert plugins["good"].status == "loaded"
    assert plugins["old-api"].status == "not-allowed"
    assert plugins["old-api"].error is None
    assert other.package not in sys.modules


def test_deny_disables_without_import(sample_dist: SampleFactory) -> None:
    broken = sample_dist("broken_import")
    plugins = by_name(make_manager(deny=["broken-import"]))
    assert plugins["broken-import"].status == "disabled"
    assert "deny" in plugins["broken-import"].note
    assert broken.package not in sys.modules


def test_version_pins(sample_dist: SampleFactory) -> None:
    sample_dist("good", version="0.3.1")
    ok = by_name(make_manager(allow=["good>=0.3,<0.4"]))["good"]
    assert ok.status == "loaded"

    refused = by_name(make_manager(allow=["good>=0.1,<0.2"]))["good"]
    assert refused.status == "failed"
    assert isinstance(refused.error, IncompatiblePluginError)
    assert "0.3.1 does not satisfy the pin <0.2,>=0.1" in str(refused.error)


def test_incompatible_api_range_is_refused(sample_dist: SampleFactory) -> None:
    sample_dist("old_api")
    info = by_name(make_manager(allow=["old-api"]))["old-api"]
    assert info.status == "failed"
    assert isinstance(info.error, IncompatiblePluginError)
    assert "supports plugin API >=0.1,<1" in str(info.error)
    from podium.version import API_VERSION

    assert f"provides API {API_VERSION}" in str(info.error)
    assert "podium-sample-old-api 1.0.0" in str(info.error)


def test_plugin_without_api_declaration_loads_with_a_warning() -> None:
    import types

    module = types.ModuleType("no_api_plugin")
    with pytest.warns(UserWarning, match="declares no PODIUM_API"):
        plugins = by_name(make_manager(load_entrypoints=False, plugins=[("no-api", module)]))
    assert plugins["no-api"].status == "loaded"
    assert "declares no PODIUM_API" in plugins["no-api"].warnings[0]


def test_name_conflict_names_both_distributions(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    sample_dist("conflicting")
    manager = make_manager(allow=["good", "conflicting"])
    # Both load; using the kind with the conflict is an error naming both.
    statuses = {p.name: p.status for p in manager.plugins}
    assert statuses["good"] == statuses["conflicting"] == "loaded"
    with pytest.raises(PluginConflictError) as raised:
        manager.registrations("provisioners")
    message = str(raised.value)
    assert "podium-sample-good 1.0.0" in message
    assert "podium-sample-conflicting 1.0.0" in message
    assert "'sample-echo'" in message
    with pytest.raises(PluginConflictError):
        manager.provisioner("sample-echo")
    # Other kinds are unaffected.
    assert manager.registrations("deployers") == {}
    # Strict mode reports the conflict while loading.
    with pytest.raises(PluginConflictError):
        make_manager(allow=["good", "conflicting"], strict=True).load()


@pytest.mark.parametrize("how", ["flag", "env"])
def test_kill_switch_loads_no_entry_points(sample_dist: SampleFactory, how: str) -> None:
    good = sample_dist("good")
    if how == "flag":
        manager = make_manager(load_entrypoints=False)
    else:
        manager = make_manager(environ={"PODIUM_NO_PLUGINS": "1"})
    info = by_name(manager)["good"]
    assert info.status == "disabled"
    assert "disabled" in info.note
    assert good.package not in sys.modules
    with pytest.raises(NotFoundError, match="available: none"):
        manager.provisioner("sample-echo")


def test_python_plugins_and_builtins_register_without_installation() -> None:
    from podium import hookimpl
    from podium.platform.contract import StateBackend

    class MemoryBackend(StateBackend):
        name = "memory"

        def open(self, env, options):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    class Core:
        @hookimpl
        def podium_state_backends(self, platform_name: str) -> list[StateBackend]:
            assert platform_name == "acme"
            return [MemoryBackend()]

    class Mine:
        PODIUM_API = ">=1.0,<2"

        @hookimpl
        def podium_event(self, event: _Event) -> str:
            return "mine"

    manager = make_manager(
        load_entrypoints=False,
        builtins=[("builtin", Core())],
        plugins=[("mine", Mine())],
        platform_name="acme",
    )
    plugins = by_name(manager)
    assert plugins["builtin"].source == "builtin"
    assert plugins["builtin"].distribution == "podium"
    assert plugins["mine"].source == "python"
    registered = manager.registered("state_backends", "memory")
    assert registered.plugin.name == "builtin"
    assert isinstance(manager.state_backend("memory"), MemoryBackend)
    with pytest.raises(NotFoundError, match="no state backend named 'nope'; available: memory"):
        manager.state_backend("nope")


def test_invalid_registrations_fail_the_plugin() -> None:
    from podium import hookimpl
    from podium.provisioning.contract import Provisioner

    class Misnamed(Provisioner):
        name = "Not Valid"
        resource_type = "x"

        def create(self, ctx):  # type: ignore[no-untyped-def]
            return {}

        def read(self, ctx):  # type: ignore[no-untyped-def]
            return None

        def delete(self, ctx):  # type: ignore[no-untyped-def]
            return None

    class BadName:
        PODIUM_API = ">=1"

        @hookimpl
        def podium_provisioners(self) -> list[Provisioner]:
            return [Misnamed()]

    class Typo:
        PODIUM_API = ">=1"

        @hookimpl
        def podium_provisioner(self) -> list[Provisioner]:
            return []

    plugins = by_name(
        make_manager(
            load_entrypoints=False,
            plugins=[("bad-name", BadName()), ("typo", Typo()), ("Upper", object())],
        )
    )
    assert "provisioner name 'Not Valid' is invalid" in str(plugins["bad-name"].error)
    assert "'podium_provisioner', which is not a Podium hook" in str(plugins["typo"].error)
    assert "plugin name 'Upper' is invalid" in str(plugins["Upper"].error)


def test_load_is_idempotent(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    manager = make_manager(allow=["good"])
    first = manager.load().plugins
    assert manager.load().plugins == first
    assert len(manager.pluggy_manager.get_plugins()) == 1


class _Event:
    def __init__(self, kind: str) -> None:
        self.kind = kind


def test_require_loaded_refuses_a_change_naming_every_failed_plugin(
    sample_dist: SampleFactory,
) -> None:
    from podium.plugins.manager import RequiredPluginError

    sample_dist("good")
    sample_dist("broken_import", version="3.0.1")
    sample_dist("missing_dep")
    manager = make_manager(allow=["good", "broken-import", "missing-dep"])
    assert by_name(manager)["good"].status == "loaded"  # reading still works

    with pytest.raises(RequiredPluginError) as refused:
        manager.require_loaded("apply")
    error = refused.value
    assert error.exit_code == 4
    assert (error.plugin, error.distribution, error.version) == (
        "broken-import",
        "podium-sample-broken-import",
        "3.0.1",
    )
    assert "failed to load, so apply is refused: " in str(error)
    assert "also plugin 'missing-dep' (podium-sample-missing-dep 1.0.0)" in str(error)
    assert 'optional = ["broken-import", "missing-dep"]' in (error.hint or "")
    assert [e["plugin"] for e in error.to_dict()["failed"]] == ["broken-import", "missing-dep"]


def test_optional_plugins_and_plugins_not_meant_to_load_refuse_nothing(
    sample_dist: SampleFactory,
) -> None:
    sample_dist("good")
    sample_dist("broken_import")
    sample_dist("missing_dep")
    optional = make_manager(
        allow=["good", "broken-import"],
        settings={"optional": ["Broken_Import"]},  # names compare like distribution names
    )
    optional.require_loaded("plan")
    assert by_name(optional)["broken-import"].optional
    assert by_name(optional)["broken-import"].to_dict()["optional"] is True
    # Strict mode refuses what is not optional, at load time: an optional failure passes.
    make_manager(
        allow=["good", "broken-import"], settings={"optional": ["broken-import"]}, strict=True
    ).load()
    # Denied, not allowed and --no-plugins plugins did not fail: nothing to refuse.
    make_manager(allow=["good"], deny=["broken-import"]).require_loaded("plan")
    make_manager(load_entrypoints=False).require_loaded("plan")


def test_a_hanging_registration_hook_fails_its_plugin_after_the_timeout() -> None:
    import threading
    import time

    from podium import hookimpl
    from podium.provisioning.contract import Provisioner

    release = threading.Event()

    class Stuck:
        PODIUM_API = ">=1.0,<2"

        @hookimpl
        def podium_provisioners(self) -> list[Provisioner]:
            release.wait(30)
            return []

    try:
        started = time.monotonic()
        manager = make_manager(
            load_entrypoints=False,
            plugins=[("stuck", Stuck())],
            settings={"registration_timeout": 0.2},
        )
        info = by_name(manager)["stuck"]
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert manager.registration_timeout == 0.2
    assert info.status == "failed"
    assert isinstance(info.error, PluginError)
    assert info.error.hook == "podium_provisioners"
    assert "did not return within 0.2s" in str(info.error)
    assert "cannot stop a thread" in (info.error.hint or "")
    assert elapsed < 5
    assert make_manager(load_entrypoints=False).registration_timeout == 10.0


def test_registration_hooks_keep_the_callers_context_in_their_thread() -> None:
    """Log attribution and spans rely on context variables: the worker thread sees them."""
    from podium import hookimpl
    from podium.plugins.calls import current_hook_call
    from podium.provisioning.contract import Provisioner

    seen: list[object] = []

    class Observed:
        PODIUM_API = ">=1.0,<2"

        @hookimpl
        def podium_provisioners(self) -> list[Provisioner]:
            seen.append(current_hook_call.get())
            return []

    manager = make_manager(load_entrypoints=False, plugins=[("observed", Observed())])
    assert by_name(manager)["observed"].status == "loaded"
    call = seen[0]
    assert getattr(call, "plugin", None) == "observed"
    assert getattr(call, "hook", None) == "podium_provisioners"
