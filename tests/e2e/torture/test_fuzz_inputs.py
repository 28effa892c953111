"""Bad input fuzzing: generated and mutated Score files and platform configs.

Whatever the input, loading it either succeeds or raises a Podium input error
(never another exception), and every such error says where: the file and, for
text, the line; for a config given as a dict, the offending field.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podium.config.loader import load_config_dict, load_config_text
from podium.errors import InputError, PodiumError
from podium.workload.loader import errors_of, load_workload_text

SCORE_PATH = "fuzz.score.yaml"
CONFIG_PATH = "podium.toml"
FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: Each example builds a whole Platform (plugins, state, policies): fewer of them.
FUZZ_PLATFORM = settings(FUZZ, max_examples=30)

names = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
placeholders = st.sampled_from(
    ["${metadata.name}", "${resources.db.host}", "${resources.nope.x}", "${", "$${x}", "${a..b}"]
)


@st.composite
def score_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Score-shaped documents: mostly valid, with some fields replaced by junk."""
    resources = {
        name: {
            "type": draw(st.sampled_from(["postgres", "dir", "redis", "volume", ""])),
            **({"params": {"ref": draw(placeholders)}} if draw(st.booleans()) else {}),
            **({"class": draw(names)} if draw(st.booleans()) else {}),
        }
        for name in draw(st.lists(names, max_size=4, unique=True))
    }
    doc: dict[str, Any] = {
        "apiVersion": draw(st.sampled_from(["score.dev/v1b1", "score.dev/v1", "v2"])),
        "metadata": {"name": draw(names)},
        "containers": {
            draw(names): {
                "image": draw(st.sampled_from(["nginx:1", ".", ""])),
                "variables": {"X": draw(placeholders), "Y": "plain"},
            }
        },
        "resources": resources,
    }
    for _ in range(draw(st.integers(0, 2))):  # graft junk somewhere
        path = draw(
            st.sampled_from(
                [
                    ("apiVersion",),
                    ("metadata",),
                    ("containers",),
                    ("resources",),
                    ("metadata", "name"),
                    ("service",),
                ]
            )
        )
        target: Any = doc
        for key in path[:-1]:
            target = target.get(key) if isinstance(target, dict) else None
        if isinstance(target, dict):  # an earlier graft may have replaced the parent
            target[path[-1]] = draw(junk)
    return doc


def _mutate(text: str, data: st.DataObject) -> str:
    """Text-level damage: drop, duplicate or re-indent a line, or splice in odd characters."""
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(0, 3))):
        if not lines:
            break
        index = data.draw(st.integers(0, len(lines) - 1))
        how = data.draw(st.sampled_from(["drop", "dup", "indent", "splice", "tab"]))
        if how == "drop":
            del lines[index]
        elif how == "dup":
            lines.insert(index, lines[index])
        elif how == "indent":
            lines[index] = " " + lines[index]
        elif how == "tab":
            lines[index] = "\t" + lines[index]
        else:
            at = data.draw(st.integers(0, len(lines[index])))
            odd = data.draw(
                st.sampled_from(
                    [
                        ":",
                        "- ",
                        "{",
                        "]",
                        "&a",
                        "*a",
                        "!!python/x",
                        "\x00",
                        "\ufeff",
                        "'",
                        '"',
                        "#",
                        "${",
                        "\x85",
                    ]
                )
            )
            lines[index] = lines[index][:at] + odd + lines[index][at:]
    return "\n".join(lines) + "\n"


def _check_located(error: InputError, path: str) -> None:
    for one in errors_of(error):
        assert one.location is not None, f"no location: {one!r}"
        assert one.location.path == path, one.location
        assert one.location.line is not None, f"no line: {one.message}"


@FUZZ
@given(doc=score_documents(), data=st.data())
def test_score_documents_fail_only_with_located_errors(doc: dict[str, Any], data: Any) -> None:
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if data.draw(st.booleans()):
        text = _mutate(text, data)
    try:
        load_workload_text(text, SCORE_PATH)
    except InputError as error:
        _check_located(error, SCORE_PATH)


@FUZZ
@given(text=st.text(max_size=300))
def test_arbitrary_text_as_a_score_file(text: str) -> None:
    try:
        load_workload_text(text, SCORE_PATH)
    except InputError as error:
        _check_located(error, SCORE_PATH)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    config: dict[str, Any] = {
        "platform": {"name": draw(names)},
        "environments": {draw(names): {"parallelism": draw(st.integers(-2, 300))}},
        "rules": [{"type": draw(names), "provisioner": draw(names)}],
        "engine": {"timeout": draw(st.one_of(st.none(), st.floats(-1, 10)))},
        "state": {"backend": "sqlite", "lock_ttl": draw(st.integers(-5, 100))},
        "telemetry": {"jsonl": draw(st.booleans())},
    }
    for _ in range(draw(st.integers(0, 3))):
        section = draw(st.sampled_from([*config, "bogus", "policies", "plugins"]))
        if draw(st.booleans()) or not isinstance(config.get(section), dict):
            config[section] = draw(junk)
        else:
            config[section][draw(st.sampled_from(["name", "x", "parallelism", "allow"]))] = draw(
                junk
            )
    return config


@FUZZ
@given(config=configs())
def test_config_dicts_fail_only_with_errors_naming_the_field(config: dict[str, Any]) -> None:
    try:
        load_config_dict(config)
    except InputError as error:
        for one in errors_of(error):
            assert one.field or one.location, f"neither field nor location: {one.message}"


def _toml(config: dict[str, Any]) -> str:
    """A TOML rendering good enough for fuzzing (JSON scalars are TOML scalars, mostly)."""
    out: list[str] = []
    for section, body in config.items():
        if not isinstance(body, dict):
            out.append(f"{section} = {json.dumps(body, default=str)}")
            continue
        out.append(f"[{section}]")
        out += [f"{k} = {json.dumps(v, default=str)}" for k, v in body.items()]
    return "\n".join(out) + "\n"


@FUZZ
@given(config=configs(), data=st.data())
def test_config_files_fail_only_with_errors_at_a_line(config: dict[str, Any], data: Any) -> None:
    text = _toml(config)
    if data.draw(st.booleans()):
        text = _mutate(text, data)
    try:
        load_config_text(text, CONFIG_PATH)
    except InputError as error:
        for one in errors_of(error):
            assert one.location is not None and one.location.path == CONFIG_PATH, one
            # A missing key has no line of its own; everything present in the file has one.
            assert (
                one.location.line is not None
                or "missing" in one.message
                or ("required" in one.message)
            ), f"no line: {one.message}"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-platform")


def _plugin() -> types.ModuleType:
    from podium import hookimpl
    from podium.provisioning import Provisioner

    class Anything(Provisioner):
        name = "anything"
        resource_type = "dir"

        def create(self, ctx: Any) -> dict[str, Any]:
            return {"host": "h", "x": "y"}

        def read(self, ctx: Any) -> dict[str, Any] | None:
            return None

        def delete(self, ctx: Any) -> None:
            pass

    module = types.ModuleType("fuzz_plugin")
    module.PODIUM_API = ">=1.0,<2"  # type: ignore[attr-defined]
    module.podium_provisioners = hookimpl(lambda: [Anything()])  # type: ignore[attr-defined]
    return module


@FUZZ_PLATFORM
@given(doc=score_documents(), config=configs())
def test_the_platform_plans_or_refuses_cleanly(
    scratch: Path, doc: dict[str, Any], config: dict[str, Any]
) -> None:
    """Through the Platform: config and workload together, up to a plan."""
    from podium.api import Platform

    config["environments"] = {"dev": {}}
    config["telemetry"] = {"jsonl": False}
    config.pop("state", None)
    config["rules"] = [{"type": "dir", "provisioner": "anything"}]
    text = yaml.safe_dump(doc, sort_keys=False)
    path = scratch / SCORE_PATH
    path.write_text(text)
    try:
        platform = Platform(
            config, root=scratch, plugins=[("fuzz", _plugin())], load_entrypoints=False
        )
    except InputError as error:
        for one in errors_of(error):
            assert one.field or one.location, one
        return
    try:
        platform.plan("dev", [path])
    except InputError as error:
        for one in errors_of(error):
            assert one.location or one.field, f"unlocated: {one.message}"
    except PodiumError:
        pass  # e.g. no rule for a resource type: named, not a file problem
    finally:
        platform.close()
