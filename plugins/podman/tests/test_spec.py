"""What a container spec holds: no secret in it, host paths only from volume resources, order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from podium.plugin import (
    DeployerState,
    Probe,
    RenderedContainer,
    RenderedFile,
    RenderedVolume,
    RenderedWorkload,
    ResourceError,
    Secret,
    ServicePort,
)
from podium_podman.deployer import start_order
from podium_podman.spec import ENV_SECRET_TARGET, SHIM, plan_container

SECRET = "s3cret-" + "x" * 20


def plan(tmp_path: Path, container: RenderedContainer, **ports: int) -> dict[str, Any]:
    workload = RenderedWorkload(
        name="w",
        containers={container.name: container},
        ports={n: ServicePort(port=p, target_port=p) for n, p in ports.items()},
    )
    made = plan_container(
        workload=workload,
        container=container,
        name="podium-x-w-main",
        image="localhost/img:1",
        image_config={"Entrypoint": ["/entry"], "Cmd": ["serve"]},
        labels={"dev.podium.workload": "w"},
        ports=dict(ports),
        restart="always",
        files_dir=DeployerState(tmp_path / "files"),
        scope="podium-x",
        fingerprint_key=b"k" * 32,
        shim="/bin/busybox",
        probe_timeout=2.0,
        stop_timeout=1,
    )
    return {"spec": made.spec, "secrets": made.secrets, "digest": made.digest}


def test_secret_variables_and_files_never_enter_the_spec(tmp_path: Path) -> None:
    container = RenderedContainer(
        name="main",
        image="img",
        variables={"PLAIN": "p", "TOKEN": Secret(SECRET)},
        files=[RenderedFile(target="/etc/key", content=Secret(SECRET))],
        readiness_probe=Probe(exec_command=["check"]),
    )
    made = plan(tmp_path, container, http=8080)
    spec = made["spec"]
    assert SECRET not in json.dumps(spec)
    assert spec["env"] == {"PLAIN": "p", "PORT": "8080", "PORT_HTTP": "8080"}
    # The image's entrypoint and command run after the loader exported the secrets.
    assert spec["entrypoint"][0] == SHIM and spec["entrypoint"][-2:] == ["/entry", "serve"]
    assert spec["healthconfig"]["Test"][:2] == ["CMD", SHIM]
    targets = {s["target"] for s in spec["secrets"]}
    assert targets == {ENV_SECRET_TARGET, "/etc/key"}
    assert all(SECRET not in s.name for s in made["secrets"])
    assert spec["netns"] == {"nsmode": "host"}


def test_changed_secret_changes_the_digest_but_no_label_shows_it(tmp_path: Path) -> None:
    one = plan(tmp_path, RenderedContainer(name="main", image="i", variables={"T": Secret("a")}))
    two = plan(tmp_path, RenderedContainer(name="main", image="i", variables={"T": Secret("b")}))
    assert one["digest"] != two["digest"]
    # The Podman secret is named by a keyed digest: a new value is a new secret.
    assert one["secrets"][0].name != two["secrets"][0].name
    assert one["spec"]["labels"]["dev.podium.spec"] == one["digest"]


def test_a_host_path_written_in_a_score_file_is_refused(tmp_path: Path) -> None:
    literal = RenderedVolume(target="/host", source={"source": "/etc"})
    with pytest.raises(ResourceError, match="not a volume resource"):
        plan(tmp_path, RenderedContainer(name="main", image="i", volumes=[literal]))
    named = RenderedVolume(target="/data", source={"source": "cache"})
    spec = plan(tmp_path, RenderedContainer(name="main", image="i", volumes=[named]))["spec"]
    assert spec["volumes"] == [{"Name": "podium-x-cache", "Dest": "/data", "Options": ["rw"]}]


def test_before_orders_the_containers_and_a_cycle_is_an_error() -> None:
    def c(name: str, **before: str) -> RenderedContainer:
        return RenderedContainer(name=name, image="i", before=before)  # type: ignore[arg-type]

    workload = RenderedWorkload(
        name="w", containers={"web": c("web", db="healthy"), "db": c("db"), "job": c("job")}
    )
    assert start_order(workload) == ["db", "web", "job"]
    cyclic = RenderedWorkload(
        name="w", containers={"a": c("a", b="started"), "b": c("b", a="started")}
    )
    with pytest.raises(ResourceError, match="cycle"):
        start_order(cyclic)


def test_liveness_is_the_health_check_with_a_restart_and_readiness_moves_to_exec(
    tmp_path: Path,
) -> None:
    from podium.plugin import HttpProbe
    from podium_podman.spec import LIVENESS_LABEL, ON_FAILURE_RESTART

    container = RenderedContainer(
        name="main",
        image="img",
        variables={"TOKEN": Secret(SECRET)},
        liveness_probe=Probe(
            http_get=HttpProbe(port=8080, path="/alive", headers={"X-Check": "1"}),
            exec_command=["check", "--deep"],
        ),
        readiness_probe=Probe(exec_command=["ready"]),
    )
    workload = RenderedWorkload(
        name="w",
        containers={"main": container},
        ports={"http": ServicePort(port=80, target_port=8080)},
    )
    made = plan_container(
        workload=workload,
        container=container,
        name="podium-x-w-main",
        image="localhost/img:1",
        image_config={"Cmd": ["serve"]},
        labels={},
        ports={"http": 41234},
        restart="always",
        files_dir=DeployerState(tmp_path / "files"),
        scope="podium-x",
        fingerprint_key=b"k" * 32,
        shim="/bin/busybox",
        probe_timeout=2.0,
        stop_timeout=1,
    )
    spec = made.spec
    assert spec["health_check_on_failure_action"] == ON_FAILURE_RESTART
    assert spec["labels"][LIVENESS_LABEL] == "10"
    test = spec["healthconfig"]["Test"]
    # Both parts must pass: the URL (the assigned port) by busybox wget, then the
    # command, run through the loader that exports the secret variables.
    assert test[:4] == ["CMD", SHIM, "sh", "-c"]
    assert "http://127.0.0.1:41234/alive" in test[4] and "'X-Check: 1'" in test[4]
    assert test[-2:] == ["check", "--deep"] and SHIM in test[6:]
    assert SECRET not in json.dumps(spec)
    assert {"destination": SHIM, "source": "/bin/busybox", "type": "bind", "options": ["ro"]} in (
        spec["mounts"]
    )
    # readiness: a command run with exec, killed after the probe timeout
    assert made.readiness_command is not None
    assert made.readiness_command[:5] == [SHIM, "timeout", "-s", "KILL", "2"]
    assert made.readiness_command[-1] == "ready"


def test_readiness_alone_keeps_its_health_check_and_limits_are_cgroup_limits(
    tmp_path: Path,
) -> None:
    container = RenderedContainer(
        name="main",
        image="img",
        readiness_probe=Probe(exec_command=["ready"]),
        limits={"cpu": "1.5", "memory": "1Gi"},
        requests={"cpu": "100m", "memory": "256M"},
    )
    spec = plan(tmp_path, container)["spec"]
    assert spec["healthconfig"] == {
        "Test": ["CMD", "ready"],
        "Interval": 10_000_000_000,
        "Timeout": 2_000_000_000,
        "Retries": 3,
    }
    assert "health_check_on_failure_action" not in spec
    assert spec["resource_limits"] == {
        "memory": {"limit": 1024**3, "reservation": 256_000_000},
        "cpu": {"quota": 150_000, "period": 100_000, "shares": 103},
    }


@pytest.mark.parametrize(
    ("limits", "requests", "message"),
    [
        ({"memory": "lots"}, {}, "limits.memory: 'lots' is not a quantity"),
        ({"memory": "1"}, {}, "below Podman's smallest memory limit"),
        ({"cpu": "1m"}, {}, "below the smallest CPU limit"),
        ({"memory": "64Mi"}, {"memory": "1Gi"}, "is more than limits.memory"),
        ({"gpu": "1"}, {}, "gpu is not a resource Podman limits"),
    ],
)
def test_a_quantity_podman_cannot_apply_names_the_container(
    tmp_path: Path, limits: dict[str, str], requests: dict[str, str], message: str
) -> None:
    container = RenderedContainer(name="main", image="img", limits=limits, requests=requests)
    with pytest.raises(ResourceError, match=r"w\.containers\.main\.resources") as refused:
        plan(tmp_path, container)
    assert message in str(refused.value)
