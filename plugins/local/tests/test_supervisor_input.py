"""Names, commands and variables cannot poison the environment's supervisord.

A workload author controls names (program names, paths in supervisord's
config), commands and variables. Each attack is refused before anything is
written, and supervisord keeps serving the environment's other workloads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import WORKLOAD_PYTHON

from podium.plugin import (
    DeployContext,
    EnvironmentInfo,
    RenderedContainer,
    RenderedWorkload,
    ResourceError,
    Secret,
)
from podium_local.deploy.deployer import LocalDeployer
from podium_local.servers.supervisord import Supervisor, escape
from podium_local.settings import Settings

SETTINGS = Settings(readiness_timeout=20)
SLEEP = [WORKLOAD_PYTHON, "-c", "import time\nwhile True: time.sleep(1)"]


def workload(
    name: str = "app",
    container: str = "main",
    command: list[str] | None = None,
    variables: dict[str, object] | None = None,
    source_dir: str | None = None,
) -> RenderedWorkload:
    return RenderedWorkload(
        name=name,
        containers={
            container: RenderedContainer(
                name=container,
                image="x",
                command=command or SLEEP,
                variables=variables or {},  # type: ignore[arg-type]
            )
        },
        extensions={"podium.source_dir": source_dir} if source_dir else {},
    )


def written(env: EnvironmentInfo) -> list[str]:
    """Files a deploy left behind for supervisord or the launcher."""
    local = env.state_dir / "local"
    found = [p for p in (local / "supervisor" / "programs").glob("*.conf")]
    found += [p for p in (local / "workloads").glob("*/specs/*")]
    return sorted(str(p.relative_to(local)) for p in found)


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        (workload(name="app\n"), "workload name 'app\\n'"),
        (workload(name="app\n[program:evil]\ncommand=/bin/sh"), "workload name"),
        (workload(container="main\nuser=root"), "container name"),
        (workload(container="../../escape"), "container name"),
        (workload(variables={"GREETING": "a\x00b"}), "variables.GREETING"),
        (workload(variables={"TOKEN": Secret("s3cr\x00t")}), "variables.TOKEN"),
        (workload(variables={"BAD\nNAME": "x"}), "is not a variable name"),
        (workload(variables={"A=B": "x"}), "is not a variable name"),
        (workload(command=["sh", "-c", "echo \x00"]), "NUL byte"),
        (workload(source_dir="/srv/app\n[program:evil]"), "the working directory"),
        (workload(source_dir="/srv/app ;comment"), "the working directory"),
    ],
)
def test_poisoned_input_is_refused_before_anything_is_written(
    env: EnvironmentInfo, attack: RenderedWorkload, message: str
) -> None:
    deployer = LocalDeployer(SETTINGS)
    with pytest.raises(ResourceError) as caught:
        deployer.deploy(DeployContext(workload=attack.name, env=env, release=1), attack)
    assert message in str(caught.value)
    assert written(env) == []


def test_other_workloads_keep_deploying_after_an_attack(env: EnvironmentInfo) -> None:
    deployer = LocalDeployer(SETTINGS)
    honest = workload(name="honest", variables={"PEM": "-----BEGIN-----\nabc\n-----END-----\n"})
    deployer.deploy(DeployContext(workload="honest", env=env, release=1), honest)
    with pytest.raises(ResourceError):
        deployer.deploy(
            DeployContext(workload="evil", env=env, release=1),
            workload(name="evil", variables={"X": "\x00"}),
        )
    other = workload(name="other")
    deployer.deploy(DeployContext(workload="other", env=env, release=1), other)
    for name in ("honest", "other"):
        status = deployer.status(DeployContext(workload=name, env=env))
        assert status.state == "ready", status
    assert Supervisor(env, SETTINGS).is_running()
    for name in ("honest", "other"):
        deployer.destroy(DeployContext(workload=name, env=env))


def test_config_values_that_cannot_be_escaped_are_refused() -> None:
    assert escape("/srv/100%") == "/srv/100%%"
    for value in ("a\nb", "a\rb", "a\x00b", " lead", "trail ", "a ;b", "a\t#b"):
        with pytest.raises(ResourceError, match="cannot be written to a supervisord config"):
            escape(value)


def test_launcher_refuses_a_spec_with_a_nul_byte(tmp_path: Path) -> None:
    # A spec written before the deployer refused NUL bytes: the launcher says why.
    spec = {
        "argv": ["true"],
        "cwd": str(tmp_path),
        "env": {"PODIUM_ROOT": str(tmp_path), "X": "a\x00b"},
        "starts_file": str(tmp_path / "starts"),
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, "-m", "podium_local.launch", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 126
    assert "variable 'X' cannot be passed to a process" in done.stderr
