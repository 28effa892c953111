"""Untrusted workload input is confined and bounded: each attack of issue 10 (item 2 and 3)
run through the real ``podium`` CLI (or the Platform API), refused with exit 3 at the
file and line it comes from, with nothing written to state."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from podium import Platform
from podium.errors import InputError, WorkloadError
from podium.provisioning import Provisioner, ResourceContext
from podium.workload.loader import load_workload_text
from podium.workload.placeholders import MAX_EXPANDED_VALUE
from podium.workload.render import render_workload

AttackProject = Any  # tests/security/conftest.py; test directories are not packages

WEB_WITH_FILE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web:1.0
    files:
      /etc/x:
        source: {source}
"""


def _refused_everywhere(project: AttackProject, score: str, where: str, says: str) -> None:
    """validate, plan and up all refuse; nothing reaches state."""
    for command in ("validate", "plan", "up"):
        project.refused(command, "-f", score, where=where, says=says)
    assert project.records() == []


# --------------------------------------------------------------------- file sources


@pytest.mark.parametrize("source", ["/etc/shadow", "/etc/passwd", "../../../../etc/passwd"])
def test_file_source_outside_the_workload_directory_is_refused(
    attack_project: AttackProject, source: str
) -> None:
    attack_project.write("web.score.yaml", WEB_WITH_FILE.format(source=source))
    _refused_everywhere(
        attack_project, "web.score.yaml", "web.score.yaml:9:9", "outside the workload's directory"
    )


def test_another_platforms_key_is_not_a_file_source(
    attack_project: AttackProject, tmp_path: Path
) -> None:
    other = tmp_path / "other-platform" / ".podium"
    other.mkdir(parents=True)
    (other / "key").write_text("other-platform-secret-key")
    attack_project.write(
        "apps/web.score.yaml", WEB_WITH_FILE.format(source="../../other-platform/.podium/key")
    )
    stderr = attack_project.refused(
        "validate",
        "-f",
        "apps/web.score.yaml",
        where="web.score.yaml:9:9",
        says="outside the workload's directory",
    )
    assert "other-platform-secret-key" not in stderr
    attack_project.refused(
        "up", "-f", "apps/web.score.yaml", where="web.score.yaml:9:9", says="outside"
    )
    assert attack_project.records() == []


def test_a_symlink_out_of_the_workload_directory_is_refused(attack_project: AttackProject) -> None:
    (attack_project.root / "innocent.conf").symlink_to("/etc/passwd")
    attack_project.write("web.score.yaml", WEB_WITH_FILE.format(source="innocent.conf"))
    _refused_everywhere(attack_project, "web.score.yaml", "web.score.yaml:9:9", "through a symlink")


def test_the_platforms_own_state_directory_is_private(attack_project: AttackProject) -> None:
    # The Score file sits next to podium.toml, so .podium/ is inside its directory.
    attack_project.write("web.score.yaml", WEB_WITH_FILE.format(source=".podium/key"))
    _refused_everywhere(attack_project, "web.score.yaml", "web.score.yaml:9:9", "keeps private")


def test_a_file_source_inside_the_workload_directory_still_works(
    attack_project: AttackProject,
) -> None:
    attack_project.write("conf/app.conf", "greeting = hello\n")
    attack_project.write("web.score.yaml", WEB_WITH_FILE.format(source="conf/app.conf"))
    result = attack_project.podium("up", "-f", "web.score.yaml")
    assert result.returncode == 0, result.stderr
    workload = load_workload_text(
        (attack_project.root / "web.score.yaml").read_text(),
        attack_project.root / "web.score.yaml",
    )
    rendered = render_workload(workload, {})
    assert rendered.containers["main"].files[0].content == "greeting = hello\n"


def test_a_fifo_as_file_source_is_refused_not_waited_on(
    attack_project: AttackProject, tmp_path: Path
) -> None:
    os.mkfifo(attack_project.root / "pipe")
    attack_project.write("web.score.yaml", WEB_WITH_FILE.format(source="pipe"))
    _refused_everywhere(attack_project, "web.score.yaml", "web.score.yaml:9:9", "not a regular")
    # Swapped in after validate: render opens it without blocking and refuses it too.
    (tmp_path / "later").mkdir()
    score = tmp_path / "later" / "web.score.yaml"
    score.write_text(WEB_WITH_FILE.format(source="pipe"))
    workload = load_workload_text(score.read_text(), score)
    os.mkfifo(tmp_path / "later" / "pipe")
    with pytest.raises(WorkloadError, match="not a regular file"):
        render_workload(workload, {})


def test_a_workload_without_a_file_names_no_host_path() -> None:
    text = WEB_WITH_FILE.format(source="app.conf")
    with pytest.raises(WorkloadError) as caught:
        load_workload_text(text)
    assert str(caught.value).startswith("<string>:9:9:")
    assert "not loaded from a file" in str(caught.value)
    # Through the Platform API too: a Score text has no directory.
    platform = Platform({"environments": {"dev": {}}}, load_entrypoints=False)
    try:
        with pytest.raises(InputError, match="not loaded from a file"):
            platform.validate("dev", [load_workload_text(text, "<api>")])
    finally:
        platform.close()


def test_render_checks_the_source_again(tmp_path: Path) -> None:
    """Validated while harmless, swapped for a symlink before apply: still refused."""
    score = tmp_path / "web.score.yaml"
    score.write_text(WEB_WITH_FILE.format(source="app.conf"))
    (tmp_path / "app.conf").write_text("fine\n")
    workload = load_workload_text(score.read_text(), score)
    (tmp_path / "app.conf").unlink()
    (tmp_path / "app.conf").symlink_to("/etc/passwd")
    with pytest.raises(WorkloadError, match="outside the workload's directory") as caught:
        render_workload(workload, {})
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize(
    ("volume", "line", "says"),
    [
        ("source: /etc", "web.score.yaml:9:9", "host directories cannot be mounted"),
        ("source: ../outside", "web.score.yaml:9:9", "host directories cannot be mounted"),
        ("source: ${metadata.name}", "web.score.yaml:9:9", "must be a volume resource"),
        ("source: ${resources.data}\n        path: ../../etc", "web.score.yaml:10:9", "'..'"),
    ],
)
def test_a_volume_names_a_volume_never_a_host_directory(
    attack_project: AttackProject, volume: str, line: str, says: str
) -> None:
    attack_project.write(
        "web.score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
        f"    image: example/web:1.0\n    volumes:\n      /data:\n        {volume}\n"
        "resources:\n  data:\n    type: volume\n",
    )
    _refused_everywhere(attack_project, "web.score.yaml", line, says)


# ------------------------------------------------------------- control characters


@pytest.mark.parametrize(
    ("snippet", "where", "says"),
    [
        ('metadata:\n  name: "web\\n"', "web.score.yaml:3:3", "a newline"),
        ('metadata:\n  name: "web\\0"', "web.score.yaml:3:3", "is invalid"),
        ('metadata:\n  name: web\n  annotations:\n    "ab\\n": c', "web.score.yaml:5:5", "newline"),
    ],
)
def test_control_characters_in_names_are_refused(
    attack_project: AttackProject, snippet: str, where: str, says: str
) -> None:
    attack_project.write(
        "web.score.yaml",
        f"apiVersion: score.dev/v1b1\n{snippet}\ncontainers:\n  main:\n    image: example/web:1.0\n",
    )
    _refused_everywhere(attack_project, "web.score.yaml", where, says)


@pytest.mark.parametrize(
    ("container", "where", "says"),
    [
        ('command: ["/bin/sh", "-c\\0x"]', "web.score.yaml:7:26", "NUL"),
        ('args: ["\\e[2J"]', "web.score.yaml:7:12", "U+001B"),
        ('variables:\n      GREETING: "hi\\0there"', "web.score.yaml:8:7", "NUL"),
        ('variables:\n      "BAD\\nKEY": x', "web.score.yaml:8:7", "newline"),
        ('files:\n      "/etc/a\\nb":\n        content: x', "web.score.yaml:8:7", "newline"),
    ],
)
def test_control_characters_in_commands_variables_and_paths_are_refused(
    attack_project: AttackProject, container: str, where: str, says: str
) -> None:
    attack_project.write(
        "web.score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
        f"    image: example/web:1.0\n    {container}\n",
    )
    _refused_everywhere(attack_project, "web.score.yaml", where, says)


def test_multi_line_values_stay_allowed(attack_project: AttackProject) -> None:
    attack_project.write(
        "web.score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
        "    image: example/web:1.0\n    args: ['-c', \"echo a\\n\\techo b\"]\n"
        '    variables:\n      CERT: "-----BEGIN X-----\\r\\nabc\\n-----END X-----\\n"\n',
    )
    result = attack_project.podium("validate", "-f", "web.score.yaml")
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------- placeholder expansion


def test_a_placeholder_bomb_is_refused_at_validate(attack_project: AttackProject) -> None:
    # 473 KB that would expand to about 2 GB: a 64 KiB value referenced 7,000 times.
    big = "x" * 65_536
    bomb = "${metadata.big}" * 7_000
    attack_project.write(
        "web.score.yaml",
        f"apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  big: {big}\n"
        "containers:\n  main:\n    image: example/web:1.0\n    variables:\n"
        f"      A: '{bomb}'\n",
    )
    assert (attack_project.root / "web.score.yaml").stat().st_size < 600_000
    _refused_everywhere(
        attack_project,
        "web.score.yaml",
        "web.score.yaml:9:7",
        f"more than {MAX_EXPANDED_VALUE} characters into this value",
    )


def test_the_workload_total_is_capped_too(attack_project: AttackProject) -> None:
    # Each value stays under the per-value cap; together they exceed the workload's.
    big = "x" * 60_000
    value = "${metadata.big}" * 17
    variables = "".join(f"      V{i}: '{value}'\n" for i in range(20))
    attack_project.write(
        "web.score.yaml",
        f"apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  big: {big}\n"
        f"containers:\n  main:\n    image: example/web:1.0\n    variables:\n{variables}",
    )
    stderr = attack_project.refused(
        "validate", "-f", "web.score.yaml", where="web.score.yaml:", says="per workload"
    )
    assert "containers.main.variables.V" in stderr


def test_resource_outputs_are_capped_at_render(tmp_path: Path) -> None:
    from podium.deployment.contract import RenderedResource

    score = tmp_path / "web.score.yaml"
    score.write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
        "    image: example/web:1.0\n    variables:\n"
        "      A: ${resources.data.blob}${resources.data.blob}${resources.data.blob}\n"
        "resources:\n  data:\n    type: volume\n"
    )
    workload = load_workload_text(score.read_text(), score)
    blob = RenderedResource(
        uid="volume.default#web.data",
        type="volume",
        resource_class="default",
        outputs={"blob": "y" * 400_000},
    )
    with pytest.raises(WorkloadError, match="per value") as caught:
        render_workload(workload, {"data": blob})
    assert "web.score.yaml:8:7" in str(caught.value)


# ------------------------------------------------------------ platform-pinned params

LOCKED_RULE = """params = { flavour = "plain", owner_team = "platform" }
locked_params = ["flavour", "public"]
"""


def _volume_workload(params: str) -> str:
    return (
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
        "    image: example/web:1.0\nresources:\n  data:\n    type: volume\n"
        f"    params:\n{params}"
    )


@pytest.mark.parametrize(
    ("params", "where", "says"),
    [
        ("      flavour: fancy\n", "web.score.yaml:11:7", "sets it to its own value"),
        ("      size: 1\n      public: true\n", "web.score.yaml:12:7", "leaves it unset"),
    ],
)
def test_a_workload_cannot_override_a_locked_param(
    make_attack_project: Any, params: str, where: str, says: str
) -> None:
    project = make_attack_project(LOCKED_RULE)
    project.write("web.score.yaml", _volume_workload(params))
    for command in ("validate", "plan", "up"):
        stderr = project.refused(command, "-f", "web.score.yaml", where=where, says=says)
        assert "rules[0] (type=volume)" in stderr
    assert project.records() == []


def test_the_rules_locked_value_is_what_the_provisioner_gets(make_attack_project: Any) -> None:
    project = make_attack_project(LOCKED_RULE)
    project.write("web.score.yaml", _volume_workload("      owner_team: web\n      size: 2\n"))
    result = project.podium("up", "-f", "web.score.yaml")
    assert result.returncode == 0, result.stderr
    dirs = project.root / ".podium" / "dev" / "fake-world" / "dirs"
    (created,) = list(dirs.iterdir())
    # Unlocked keys: the workload's value wins over the rule's; locked ones are the rule's.
    params = json.loads((created / "params.json").read_text())
    assert params == {"flavour": "plain", "owner_team": "web", "size": 2}


class _GrantingProvisioner(Provisioner):
    name = "granting"
    resource_type = "grant"
    platform_params = frozenset({"allow"})

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        return {"allowed": list(ctx.params.get("allow") or [])}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        return None

    def delete(self, ctx: ResourceContext) -> None:
        pass


class _GrantingPlugin:
    from podium import hookimpl

    PODIUM_API = ">=1.0,<2"

    @hookimpl
    def podium_provisioners(self) -> list[Provisioner]:
        return [_GrantingProvisioner()]


def test_a_provisioners_platform_params_are_rule_only(tmp_path: Path) -> None:
    score = tmp_path / "web.score.yaml"
    score.write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
        "    image: example/web:1.0\nresources:\n  env:\n    type: grant\n"
        "    params:\n      allow: [EVERYTHING]\n"
    )
    config = {
        "platform": {"state_dir": str(tmp_path / "state")},
        "rules": [{"type": "grant", "provisioner": "granting", "params": {"allow": ["APP"]}}],
    }
    platform = Platform(config, plugins=[("granting", _GrantingPlugin())], load_entrypoints=False)
    try:
        with pytest.raises(WorkloadError) as caught:
            platform.validate("dev", [score])
        message = str(caught.value)
        assert "web.score.yaml:11:7" in message
        assert "lets only the platform's rules set it" in message
    finally:
        platform.close()


# -------------------------------------------------- out-of-range and malformed input


def test_out_of_range_integers_are_located_errors(attack_project: AttackProject) -> None:
    attack_project.write(
        "web.score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n"
        "    image: example/web:1.0\nservice:\n  ports:\n    www:\n"
        "      port: 99999999999999999999\n",
    )
    _refused_everywhere(attack_project, "web.score.yaml", "web.score.yaml:10:13", "64 bits")
    attack_project.write(
        "web.score.yaml",
        f"apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  n: {'9' * 5000}\n"
        "containers:\n  main:\n    image: example/web:1.0\n",
    )
    _refused_everywhere(attack_project, "web.score.yaml", "web.score.yaml:4:6", "outside 64 bits")


@pytest.mark.parametrize(
    ("config", "where", "says"),
    [
        ("[engine]\nparallelism = 99999999999999999999\n", "podium.toml:", "less than or equal"),
        ("[engine]\nretries = " + "9" * 5000 + "\n", "podium.toml:14:11", "4300 digits"),
        ("[state]\nlock_ttl = inf\n", "podium.toml:", "finite number"),
        (
            "[environments.dev.settings]\nx = " + "[" * 2000 + "]" * 2000 + "\n",
            "podium.toml:14:37",
            "levels deep",
        ),
        (
            "[environments.dev.settings]\nx = " + "[" * 100 + "]" * 100 + "\n",
            "podium.toml:14:37",
            "levels deep",
        ),
        (
            "[environments.dev.settings." + ".".join(["a"] * 3000) + "]\nx = 1\n",
            "podium.toml:13:1",
            "levels deep",
        ),
    ],
)
def test_bad_numbers_and_deep_nesting_in_the_config_exit_3(
    make_attack_project: Any, config: str, where: str, says: str
) -> None:
    attack_project = make_attack_project(config)
    attack_project.write("web.score.yaml", WEB_WITH_FILE.format(source="x").split("    files")[0])
    attack_project.refused("validate", "-f", "web.score.yaml", where=where, says=says)


def test_a_state_dir_that_is_a_file_exits_3(attack_project: AttackProject) -> None:
    (attack_project.root / "not-a-dir").write_text("x")
    config = attack_project.root / "podium.toml"
    config.write_text(config.read_text().replace('"trust"', '"trust"\nstate_dir = "not-a-dir"'))
    attack_project.write("web.score.yaml", WEB_WITH_FILE.format(source="x").split("    files")[0])
    for command in (["validate", "-f", "web.score.yaml"], ["up", "-f", "web.score.yaml"]):
        attack_project.refused(*command, where="podium.toml:3", says="not a directory")
    attack_project.refused("status", where="podium.toml:3", says="not a directory")
    assert (attack_project.root / "not-a-dir").read_text() == "x"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("this is not json", "invalid JSON"),
        ("[1, 2, 3]", "expected a JSON object"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (json.dumps({"format": 2, "platform": "trust"}), "missing key 'environment'"),
        (
            json.dumps(
                {"format": 2, "platform": "t", "environment": "dev", "serial": "x", "changes": []}
            ),
            "'serial' must be int",
        ),
        (
            json.dumps(
                {
                    "format": 2,
                    "platform": "t",
                    "environment": "dev",
                    "serial": 0,
                    "changes": [{"uid": "a", "spec": "not a mapping"}],
                }
            ),
            "a change",
        ),
    ],
)
def test_a_malformed_plan_file_exits_3_naming_it(
    attack_project: AttackProject, content: str, says: str
) -> None:
    attack_project.write("evil-plan.json", content)
    attack_project.refused("apply", "evil-plan.json", where="evil-plan.json", says=says)
    assert attack_project.records() == []


@pytest.mark.parametrize("example", ["shop", "shared-db"])
def test_honest_examples_still_load(example: str) -> None:
    """Confinement, character checks and caps cost the shipped examples nothing."""
    from podium.workload.loader import load_workloads

    directory = Path(__file__).parents[2] / "examples" / example
    scores = sorted(directory.glob("*.score.yaml"))
    assert scores and len(load_workloads(scores)) == len(scores)
