"""podium.toml loading: valid configs load, every error names file, line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podium.config.loader import (
    ConfigErrors,
    load_config_dict,
    load_config_file,
    load_config_text,
    platform_json_schema,
)
from podium.config.locate import Locator
from podium.config.models import PlatformConfig
from podium.errors import ConfigError, ExitCode, InputError
from podium.workload.schema import workload_json_schema

FULL = """
# The platform for the shop teams.
[platform]
name = "acme"
state_dir = "state"

[plugins]
allow = ["local>=0.1", "aws"]
deny = ["legacy"]
strict = true

[plugins.aws]
region = "eu-west-1"
endpoint = { url = "http://127.0.0.1:5000", verify = false }

[environments.dev]
description = "laptops"
deployer = "local"

[environments.staging]
deployer = "ecs"
rollback_on_failure = true
parallelism = 4
settings = { cluster = "staging" }

[[rules]]
type = "postgres"
provisioner = "local-postgres"

[[rules]]
type = "postgres"
class = "large"
environment = ["staging"]
provisioner = "rds"
params = { instance = "db.m5.large" }

[policies]
"security.no-latest-tag" = "mandatory"
"cost.limits" = "advisory"

[state]
backend = "sqlite"
lock_ttl = 30.0

[secrets]
store = "local"

[telemetry]
console = false
sinks = ["jsonl"]

[engine]
parallelism = 8
retries = 2
per_plugin = { aws = 2 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "podium.toml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def errors_in(path: Path) -> list[ConfigError]:
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
    error = caught.value
    found = list(error.errors) if isinstance(error, ConfigErrors) else [error]
    for item in found:
        assert isinstance(item, ConfigError)
        assert item.location is not None and item.location.path == str(path)
    return found


def only(path: Path) -> ConfigError:
    found = errors_in(path)
    assert len(found) == 1, [str(e) for e in found]
    return found[0]


def test_full_valid_example(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config, locate = load_config_file(path)
    assert isinstance(config, PlatformConfig)
    assert config.platform.name == "acme"
    assert config.plugins.settings["aws"]["endpoint"]["verify"] is False
    assert config.environments["staging"].parallelism == 4
    assert [r.provisioner for r in config.rules] == ["local-postgres", "rds"]
    assert config.rules[1].resource_class == "large"
    assert config.policies["security.no-latest-tag"] == "mandatory"
    assert config.engine.per_plugin == {"aws": 2}
    # The locator knows the file and where everything is.
    assert locate.path == path.resolve()
    assert locate.base_dir / config.platform.state_dir == tmp_path.resolve() / "state"
    assert _line(locate(("rules", 1, "provisioner"))) == 33
    assert _line(locate(("rules", 1))) == 29
    assert _line(locate(("plugins", "aws", "endpoint", "verify"))) == 13
    assert _line(locate(("environments", "staging", "settings", "cluster"))) == 23
    assert _line(locate(("policies", "cost.limits"))) == 38
    # A missing key falls back to its table.
    assert _line(locate(("rules", 0, "class"))) == 25
    assert _line(locate(("nothing", "here"))) is None


def _line(location: object) -> int | None:
    return getattr(location, "line", None)


def test_bad_toml_reports_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [platform]
        name = "acme"

        [engine]
        retries = three
        """,
    )
    error = only(path)
    assert error.location is not None
    assert (error.location.line, error.location.column) == (5, 11)
    assert error.reason.startswith("invalid TOML: ")
    assert "line" not in error.reason  # the position moved into the location
    assert str(error).startswith(f"{path}:5:11: invalid TOML")


def test_unterminated_toml_points_at_the_end(tmp_path: Path) -> None:
    error = only(write(tmp_path, '[platform]\nname = "acme\n'))
    assert error.location is not None and error.location.line is not None


def test_wrong_type_in_second_rule_points_at_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[rules]]
        type = "postgres"
        provisioner = "local-postgres"

        [[rules]]
        type = "redis"
        provisioner = 5
        """,
    )
    error = only(path)
    assert error.field == "rules.1.provisioner"
    assert error.location is not None and error.location.line == 7
    assert "valid string" in error.reason and "(found 5)" in error.reason


def test_missing_key_in_rule_points_at_the_rule_header(tmp_path: Path) -> None:
    path = write(tmp_path, '[[rules]]\ntype = "s3"\n\n[[rules]]\ntype = "redis"\n')
    found = errors_in(path)
    assert [(e.field, _line(e.location)) for e in found] == [
        ("rules.0.provisioner", 1),
        ("rules.1.provisioner", 4),
    ]
    assert all(e.reason == "missing required key 'provisioner'" for e in found)


def test_inline_array_of_rules_is_located_too(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules = [
          { type = "postgres", provisioner = "pg" },
          { type = "redis", provisioner = ["not", "a", "string"] },
        ]
        """,
    )
    error = only(path)
    assert error.field == "rules.1.provisioner"
    assert error.location is not None
    assert (error.location.line, error.location.column) == (3, 21)


def test_unknown_keys_list_what_is_allowed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [platform]
        name = "acme"
        colour = "blue"

        [state]
        backend = "sqlite"
        lockttl = 3

        [surprise]
        x = 1
        """,
    )
    found = errors_in(path)
    assert isinstance(found, list) and len(found) == 3
    by_field = {e.field: e for e in found}
    assert _line(by_field["platform.colour"].location) == 3
    assert by_field["platform.colour"].reason.startswith(
        "unknown key 'colour'; allowed: name, state_dir"
    )
    assert _line(by_field["state.lockttl"].location) == 7
    assert "lock_ttl" in by_field["state.lockttl"].reason
    assert _line(by_field["surprise"].location) == 9
    # Reported in file order, all at once.
    with pytest.raises(ConfigErrors) as caught:
        load_config_file(path)
    assert [_line(e.location) for e in caught.value.errors] == [3, 7, 9]


def test_bad_environment_name_points_at_its_table(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [environments.dev]
        deployer = "local"

        [environments.Prod]
        deployer = "ecs"
        """,
    )
    error = only(path)
    assert error.field == "environments.Prod"
    assert error.location is not None and error.location.line == 4
    assert "environment name 'Prod' is invalid" in error.reason
    assert not error.reason.startswith("Value error")


def test_policy_level_typo(tmp_path: Path) -> None:
    path = write(tmp_path, '[policies]\n"security.no-root" = "mandatry"\n')
    error = only(path)
    assert error.field == 'policies."security.no-root"'
    assert error.location is not None and error.location.line == 2
    assert "'mandatry' is not one of: 'advisory', 'mandatory' or 'off'" in error.reason


def test_union_errors_are_merged(tmp_path: Path) -> None:
    path = write(tmp_path, '[[rules]]\ntype = "x"\nprovisioner = "y"\nenvironment = 7\n')
    error = only(path)
    assert error.field == "rules.0.environment"
    assert error.reason == "Input should be a valid string or a valid list (found 7)"
    assert _line(error.location) == 4


def test_plugin_table_must_be_a_table(tmp_path: Path) -> None:
    error = only(write(tmp_path, '[plugins]\naws = "yes"\n'))
    assert error.field == "plugins.aws"
    assert _line(error.location) == 2
    assert "[plugins.aws]" in error.reason


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    missing = only(tmp_path / "nope.toml")
    assert missing.reason == "no such file" and missing.hint
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"name = \xff\n")
    assert "not UTF-8" in only(binary).reason
    assert "directory" in only(tmp_path).reason


def test_dict_and_text_configs() -> None:
    config = load_config_dict({"platform": {"name": "embedded"}})
    assert config.platform.name == "embedded"
    assert set(config.environments) == {"dev"}
    with pytest.raises(ConfigError) as caught:
        load_config_dict({"engine": {"retries": "many"}}, source="api")
    assert str(caught.value).startswith("api: engine.retries: ")
    config, locate = load_config_text('[platform]\nname = "txt"\n', "inline.toml")
    assert config.platform.name == "txt"
    assert locate.path is None
    assert _line(locate(("platform", "name"))) == 2


def test_locator_handles_strings_comments_and_dotted_keys() -> None:
    text = textwrap.dedent(
        '''
        # [not.a.table]
        title = """
        [also.not.a.table]
        key = "x"
        """
        a.b."c.d" = 1  # comment with [brackets]
        'lit' = 'C:\\dir'
        arr = [
          "x", # first
          [1, 2],
          { k = "v" },
        ]
        [tbl . "quoted key"]
        z = 1
        [[items]]
        [[items]]
        n = 2
        '''
    ).lstrip()
    locate = Locator("t.toml", text)
    assert locate.positions[("title",)] == (2, 1)
    assert ("also",) not in locate.positions and ("not",) not in locate.positions
    assert locate.positions[("a", "b", "c.d")] == (6, 1)
    assert locate.positions[("lit",)] == (7, 1)
    assert locate.positions[("arr", 0)][0] == 9
    assert locate.positions[("arr", 1, 1)][0] == 10
    assert locate.positions[("arr", 2, "k")][0] == 11
    assert locate.positions[("tbl", "quoted key", "z")] == (14, 1)
    assert locate.positions[("items", 1, "n")] == (17, 1)
    assert locate.positions[("items", 0)] == (15, 1)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_gives_config_errors_only(text: str) -> None:
    try:
        load_config_text(text, "fuzz.toml")
    except InputError as exc:
        assert isinstance(exc, ConfigError)
        assert exc.location is not None and exc.location.path == "fuzz.toml"


def test_json_schemas_for_the_cli() -> None:
    platform = platform_json_schema()
    assert platform["title"] == "PlatformConfig"
    assert {"platform", "rules", "policies"} <= set(platform["properties"])
    rule = platform["$defs"]["RuleSection"]
    assert "class" in rule["properties"]  # aliases, as written in podium.toml
    workload = workload_json_schema()
    assert workload["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert workload["required"] == ["apiVersion", "metadata", "containers"]
    workload["required"].append("mutated")
    assert "mutated" not in workload_json_schema()["required"]
