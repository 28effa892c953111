"""podium-local keeps the operator's environment and files out of untrusted workloads.

Attacks of issue 10 (item 2) against the real CLI with podium-local installed, plus the
deployer's own checks (defence in depth behind the core's validation).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import RenderedContainer, RenderedFile, RenderedVolume, ResourceError
from podium_local.provisioners.basic import EnvironmentProvisioner

OPERATOR_ENV = {
    "PODIUM_CANARY": "podium-canary-must-not-leak",
    "DATABASE_URL": "postgres://admin:operator-password@db.internal/prod",
    "APP_GREETING": "hello",
    "SHOP_MODE": "fast",
}

CONFIG = """\
[platform]
name = "envtrust"

[plugins]
allow = ["local"]

[environments.dev]

[[rules]]
type = "environment"
provisioner = "local-environment"
{params}
"""

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web:1.0
resources:
  env:
    type: environment
{params}"""


class EnvProject:
    def __init__(self, root: Path, rule_params: str = "", workload_params: str = "") -> None:
        self.root = root
        root.mkdir(parents=True)
        (root / "podium.toml").write_text(CONFIG.format(params=rule_params))
        (root / "web.score.yaml").write_text(SCORE.format(params=workload_params))

    def podium(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env.update(OPERATOR_ENV)
        return subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def outputs(self) -> dict[str, Any]:
        result = self.podium("--json", "outputs", "--show-secrets")
        assert result.returncode == 0, result.stderr
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def nothing_leaked(self) -> None:
        """No operator value in any file Podium wrote (state, events, spans)."""
        for path in (self.root / ".podium").rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for name in ("PODIUM_CANARY", "DATABASE_URL"):
                    assert OPERATOR_ENV[name].encode() not in data, (name, path)


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., EnvProject]:
    return lambda **kwargs: EnvProject(tmp_path / "platform", **kwargs)


def test_without_allow_the_operator_environment_is_not_offered(
    project: Callable[..., EnvProject],
) -> None:
    envp = project()
    result = envp.podium("up", "-f", "web.score.yaml")
    assert result.returncode == 0, result.stderr
    (values,) = envp.outputs().values()
    assert values == {}
    envp.nothing_leaked()


def test_only_what_the_rule_allows_is_offered_and_never_podium_variables(
    project: Callable[..., EnvProject],
) -> None:
    envp = project(
        rule_params='params = { allow = ["APP_GREETING"], prefix = ["SHOP_", "PODIUM_"] }'
    )
    result = envp.podium("up", "-f", "web.score.yaml")
    assert result.returncode == 0, result.stderr
    (values,) = envp.outputs().values()
    assert values == {"APP_GREETING": "hello", "SHOP_MODE": "fast"}
    envp.nothing_leaked()


@pytest.mark.parametrize(
    ("params", "line"),
    [
        ('    params:\n      prefix: ""\n', "web.score.yaml:11:7"),
        ("    params:\n      allow: [DATABASE_URL]\n", "web.score.yaml:11:7"),
        ("    params:\n      file: /etc/shadow\n", "web.score.yaml:11:7"),
    ],
)
def test_a_workload_cannot_widen_what_it_sees(
    project: Callable[..., EnvProject], params: str, line: str
) -> None:
    envp = project(rule_params='params = { allow = ["APP_GREETING"] }', workload_params=params)
    for command in ("validate", "plan", "up"):
        result = envp.podium(command, "-f", "web.score.yaml")
        assert result.returncode == 3, result.stdout + result.stderr
        assert line in result.stderr
        assert "lets only the platform's rules set it" in result.stderr
    state = envp.root / ".podium" / "dev" / "local"
    assert not (state / "references").exists()
    envp.nothing_leaked()


def test_asking_for_a_variable_the_rule_does_not_allow_fails_without_its_value(
    project: Callable[..., EnvProject],
) -> None:
    envp = project(
        rule_params='params = { allow = ["APP_GREETING"] }',
        workload_params="    params:\n      keys: [APP_GREETING, DATABASE_URL]\n",
    )
    result = envp.podium("up", "-f", "web.score.yaml")
    assert result.returncode == 6, result.stdout + result.stderr
    assert "DATABASE_URL, which the platform does not offer" in result.stderr + result.stdout
    assert OPERATOR_ENV["DATABASE_URL"] not in result.stderr + result.stdout
    envp.nothing_leaked()


def test_a_dotenv_error_never_echoes_the_line(make_ctx: Any, tmp_path: Path) -> None:
    dotenv = tmp_path / "app.env"
    dotenv.write_text("GOOD=1\nroot:$6$secret-hash-of-the-operator:19000:0:99999:7:::\n")
    with pytest.raises(ResourceError) as caught:
        EnvironmentProvisioner().create(make_ctx("environment", params={"file": str(dotenv)}))
    assert "app.env:2" in str(caught.value)
    assert "secret-hash" not in str(caught.value)


# ------------------------------------------------------------ deployer defences


def _container(**kwargs: Any) -> RenderedContainer:
    return RenderedContainer(name="main", image="x", command=["/bin/true"], **kwargs)


def _build(env: Any, container: RenderedContainer) -> dict[str, Any]:
    from podium.plugin import RenderedWorkload
    from podium_local.deploy.layout import WorkloadDir
    from podium_local.deploy.render import build
    from podium_local.sealing import Sealer
    from podium_local.settings import Settings

    workload = RenderedWorkload(name="web", containers={"main": container})
    spec, _, _ = build(
        workload,
        container,
        wdir=WorkloadDir(env, "web"),
        allocated={},
        sealer=Sealer(env.state_dir / "seal.key"),
        settings=Settings(),
        autorestart="false",
    )
    return spec


@pytest.mark.parametrize(
    ("volume", "says"),
    [
        (RenderedVolume(target="/data", source={"source": "etc"}), "is not a volume resource"),
        (
            RenderedVolume(target="/data", source={"source": "/vol/x"}, path="../../etc"),
            "without '..'",
        ),
    ],
)
def test_the_deployer_links_only_volume_resources(
    env: Any, volume: RenderedVolume, says: str
) -> None:
    with pytest.raises(ResourceError, match=says):
        _build(env, _container(volumes=[volume]))


def test_an_absolute_volume_sub_path_stays_inside_the_volume(env: Any) -> None:
    volume = RenderedVolume(target="/data", source={"source": "/vol/x"}, path="/sub/dir")
    spec = _build(env, _container(volumes=[volume]))
    assert spec["volumes"][0]["to"] == "/vol/x/sub/dir"


def test_files_are_never_written_through_a_planted_symlink(env: Any, tmp_path: Path) -> None:
    from podium_local.deploy.render import materialise

    outside = tmp_path / "outside"
    outside.mkdir()
    file = RenderedFile(target="/etc/app.conf", content="pwned", mode="0644")
    spec = _build(env, _container(files=[file]))
    root = Path(spec["env"]["PODIUM_ROOT"])
    root.mkdir(parents=True)
    # The workload (app output is untrusted) replaced its own etc/ with a link out.
    (root / "etc").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ResourceError, match="outside the container root"):
        materialise(spec)
    assert list(outside.iterdir()) == []
    # A symlink planted as the file itself is not followed either.
    (root / "etc").unlink()
    (root / "etc").mkdir()
    (root / "etc" / "app.conf").symlink_to(outside / "victim")
    with pytest.raises(ResourceError, match="cannot write"):
        materialise(spec)
    assert not (outside / "victim").exists()


def test_a_workload_process_does_not_inherit_podiums_own_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from podium_local.launch import build_env

    monkeypatch.setenv("PODIUM_STATE_KEY", "the-operators-state-key")
    env = build_env({"env": {"PODIUM_ROOT": "/srv/root", "GREETING": "hi"}})
    assert "PODIUM_STATE_KEY" not in env
    assert env["PODIUM_ROOT"] == "/srv/root" and env["GREETING"] == "hi"


SECRET_CONFIG = """\
[platform]
name = "secrettrust"

[plugins]
allow = ["local"]

[environments.dev]

[[rules]]
type = "secret"
provisioner = "local-secret"
"""

SECRET_SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web:1.0
resources:
  token:
    type: secret
    params:
      key: api-token
      secret_store_dir: {elsewhere}
"""


def test_a_workload_cannot_point_the_secret_store_elsewhere(tmp_path: Path) -> None:
    """Another team's (or any) store directory is the platform's choice, never a workload's:
    naming one would read its secrets, or plant values other workloads then trust."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "podium.toml").write_text(SECRET_CONFIG)
    (root / "web.score.yaml").write_text(SECRET_SCORE.format(elsewhere=tmp_path / "other"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    for command in ("validate", "plan"):
        result = subprocess.run(
            [sys.executable, "-m", "podium", command, "-f", "web.score.yaml"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 3, result.stdout + result.stderr
        assert "web.score.yaml:12:7" in result.stderr
        assert "lets only the platform's rules set it" in result.stderr
    assert not (tmp_path / "other").exists()
