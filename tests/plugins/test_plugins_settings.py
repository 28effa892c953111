from __future__ import annotations

import pytest
from plugin_samples import SampleFactory, by_name, make_manager

from podium.errors import ConfigError, Location
from podium.plugins.manager import PluginSettingsError
from podium.plugins.settings import SettingsError, env_prefix


def test_settings_from_config_reach_the_registration_hook(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    manager = make_manager(allow=["good"], settings={"good": {"region": "eu-1", "replicas": 3}})
    provisioner = manager.provisioner("sample-echo")
    assert provisioner.settings.region == "eu-1"  # type: ignore[attr-defined]
    assert provisioner.settings.replicas == 3  # type: ignore[attr-defined]
    assert by_name(manager)["good"].settings.region == "eu-1"


def test_env_vars_overlay_config_and_parse_json(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    manager = make_manager(
        allow=["good"],
        settings={"good": {"region": "eu-1", "replicas": 3}},
        environ={
            "PODIUM_PLUGIN_GOOD_REPLICAS": "5",
            "PODIUM_PLUGIN_GOOD_TAGS": '["a", "b"]',
            "PODIUM_PLUGIN_GOOD_REGION": "1234",  # JSON number, but the field is a str
            "PODIUM_PLUGIN_OTHER_REPLICAS": "x",
        },
    )
    settings = by_name(manager)["good"].settings
    assert settings.replicas == 5
    assert settings.tags == ["a", "b"]
    assert settings.region == "1234"


def test_invalid_setting_names_the_field_and_location(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    asked: list[tuple[object, ...]] = []

    def locate(path: tuple[str | int, ...]) -> Location | None:
        asked.append(path)
        return Location("/etc/podium.toml", 12, 1)

    manager = make_manager(allow=["good"], settings={"good": {"replicas": "many"}}, locate=locate)
    with pytest.raises(PluginSettingsError) as raised:
        manager.load()
    error = raised.value
    # A config error (exit 3) that still names the plugin, for callers catching either.
    assert isinstance(error, ConfigError) and error.exit_code == 3
    assert error.field == "plugins.good.replicas"
    assert str(error.location) == "/etc/podium.toml:12:1"
    assert asked == [("plugins", "good", "replicas")]
    assert "podium-sample-good 1.0.0" in str(error)
    assert "/etc/podium.toml:12:1: plugins.good.replicas:" in str(error)
    assert isinstance(error.__cause__, ConfigError)
    data = error.to_dict()
    assert (data["file"], data["line"], data["field"]) == (
        "/etc/podium.toml",
        12,
        "plugins.good.replicas",
    )


def test_unknown_and_env_errors(sample_dist: SampleFactory) -> None:
    sample_dist("good")
    manager = make_manager(
        allow=["good"],
        settings={"good": {"colour": "red"}},
        environ={"PODIUM_PLUGIN_GOOD_REPLICAS": "lots"},
    )
    with pytest.raises(PluginSettingsError) as raised:
        manager.load()
    config_error = raised.value.config_error
    assert isinstance(config_error, SettingsError)
    fields = {e.field: e for e in config_error.errors}
    assert set(fields) == {"plugins.good.colour", "plugins.good.replicas"}
    assert str(fields["plugins.good.replicas"].location) == (
        "environment variable PODIUM_PLUGIN_GOOD_REPLICAS"
    )


@pytest.mark.parametrize("strict", [False, True])
def test_a_settings_error_stops_loading_even_for_an_optional_plugin(
    sample_dist: SampleFactory, strict: bool
) -> None:
    """The team wrote the settings: going on without the plugin would fail later, misleadingly."""
    sample_dist("good")
    section = {"good": {"replicas": []}, "optional": ["good"]}
    manager = make_manager(allow=["good"], settings=section, strict=strict)
    with pytest.raises(PluginSettingsError, match=r"plugins\.good\.replicas"):
        manager.load()
    with pytest.raises(PluginSettingsError):  # every later use says the same, nothing half-loaded
        manager.provisioner("sample-echo")


def test_env_prefix() -> None:
    assert env_prefix("aws-s3") == "PODIUM_PLUGIN_AWS_S3_"


def test_settings_are_shown_with_credentials_masked() -> None:
    """``plugins info`` shows settings through ``shown``: no credential, whatever its type."""
    from pydantic import BaseModel, ConfigDict, SecretStr
    from pydantic import Secret as PydanticSecret

    from podium.plugins.settings import shown
    from podium.security.secret import Secret

    class Token(PydanticSecret[str]):
        def _display(self) -> str:
            return "tok-****"

    class Settings(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        api_key: SecretStr
        token: Token
        sealed: Secret
        proxy: str
        mirrors: list[str]
        region: str

    canary = "canary-3b9f"
    settings = Settings(
        api_key=SecretStr(canary),
        token=Token(canary),
        sealed=Secret(canary),
        proxy=f"https://svc:{canary}@proxy.internal:3128",
        mirrors=[f"http://u:{canary}@m1/x", "http://m2/y"],
        region="eu-1",
    )
    data = shown(settings)
    assert canary not in str(data)
    assert data == {
        "api_key": "**********",
        "token": "tok-****",
        "sealed": "(sensitive)",
        "proxy": "https://svc:***@proxy.internal:3128",
        "mirrors": ["http://u:***@m1/x", "http://m2/y"],
        "region": "eu-1",
    }
