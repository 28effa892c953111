"""cluster mode against a LOCAL HTTP STUB (tests/kube_stub.py), not a Kubernetes API server.

What is checked here is what cluster mode sends (server-side apply under the field
manager ``podium``, prune and destroy by label) and how it reads answers (rollout
conditions, pod readiness, logs). The objects are the ones render mode writes and
podman mode runs. ``test_live_cluster`` runs against a real cluster when KUBECONFIG
reaches one, and is skipped otherwise (none can run on CI machines).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from kube_stub import KubeStub

from podium.plugin import (
    DeployContext,
    EnvironmentInfo,
    HttpProbe,
    Probe,
    RenderedContainer,
    RenderedWorkload,
    ResourceError,
    Secret,
    ServicePort,
)
from podium.testing.conformance import DeployerConformance
from podium_kubernetes.deployer import KubernetesDeployer
from podium_kubernetes.rollout import rollout_state
from podium_kubernetes.settings import EnvironmentOptions, Settings

SECRET = "cluster-secret-canary-7731"


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeStub]:
    server = KubeStub()
    server.start()
    config = tmp_path / "kubeconfig"
    config.write_text(server.kubeconfig())
    monkeypatch.setenv("KUBECONFIG", str(config))
    yield server
    server.stop()


@pytest.fixture
def deployer() -> KubernetesDeployer:
    options = EnvironmentOptions(mode="cluster", namespace="apps", ready_timeout=4)
    return KubernetesDeployer(Settings(environments={"dev": options}))


def workload(ports: bool = True) -> RenderedWorkload:
    return RenderedWorkload(
        name="api",
        containers={
            "main": RenderedContainer(
                name="main",
                image="ghcr.io/acme/api:1",
                variables={"MODE": "prod", "TOKEN": Secret(SECRET)},
                readiness_probe=Probe(http_get=HttpProbe(port=8080, path="/ready")),
            )
        },
        ports={"http": ServicePort(port=80, target_port=8080)} if ports else {},
    )


def test_deploy_is_a_server_side_apply_of_every_object(
    stub: KubeStub, deployer: KubernetesDeployer, podium_env: EnvironmentInfo
) -> None:
    result = deployer.deploy(DeployContext("api", podium_env), workload())
    applies = [r for r in stub.requests if r.method == "PATCH"]
    assert [r.path for r in applies] == [
        "/apis/external-secrets.io/v1/namespaces/apps/externalsecrets/api",
        "/apis/apps/v1/namespaces/apps/deployments/api",
        "/api/v1/namespaces/apps/services/api",
    ]
    for request in applies:
        assert request.content_type == "application/apply-patch+yaml"
        assert request.query["fieldManager"] == ["podium"]
        assert request.query["force"] == ["true"]
    assert all(SECRET not in json.dumps(r.body) for r in stub.requests)
    assert result.outputs == {"kind": "Deployment", "name": "api", "release": 1}


def test_objects_no_longer_rendered_are_pruned_by_label(
    stub: KubeStub, deployer: KubernetesDeployer, podium_env: EnvironmentInfo
) -> None:
    deployer.deploy(DeployContext("api", podium_env), workload(ports=True))
    assert ("v1", "services", "api") in stub.objects
    result = deployer.deploy(DeployContext("api", podium_env, 2), workload(ports=False))
    assert ("v1", "services", "api") not in stub.objects
    assert "pruned 1" in result.message
    lists = [r for r in stub.requests if r.method == "GET" and r.path.endswith("/services")]
    assert lists and lists[-1].query["labelSelector"] == [
        "app.kubernetes.io/managed-by=podium,app.kubernetes.io/part-of=test,"
        "podium.dev/environment=dev,podium.dev/workload=api"
    ]


def test_a_stuck_rollout_fails_the_deploy_with_its_condition(
    stub: KubeStub, deployer: KubernetesDeployer, podium_env: EnvironmentInfo
) -> None:
    stub.rollout = "stuck"
    with pytest.raises(ResourceError, match="timed out progressing"):
        deployer.deploy(DeployContext("api", podium_env), workload())


def test_status_logs_and_destroy(
    stub: KubeStub, deployer: KubernetesDeployer, podium_env: EnvironmentInfo
) -> None:
    ctx = DeployContext("api", podium_env)
    assert deployer.status(ctx).state == "absent"
    deployer.deploy(ctx, workload())
    selector = {"app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "test-dev-api"}
    stub.add_pod("api-1", selector, {"main": True})
    status = deployer.status(ctx)
    assert status.state == "ready" and status.containers["main"].state == "ready"
    stub.add_pod("api-2", selector, {"main": False})
    status = deployer.status(ctx)
    assert status.containers["main"].state == "partial"
    assert "CrashLoopBackOff" in status.containers["main"].message
    assert status.containers["main"].restarts == 3
    stub.logs["api-1/main"] = "listening on 8080\nready\n"
    lines = [line.text for line in deployer.logs(ctx, container="main", tail=10)][:2]
    assert lines == ["listening on 8080", "ready"]
    log_request = next(r for r in stub.requests if r.path.endswith("/api-1/log"))
    assert log_request.query["container"] == ["main"] and log_request.query["tailLines"] == ["10"]
    deployer.destroy(ctx)
    assert not [k for k in stub.objects if k[1] != "pods"]
    assert deployer.status(ctx).state == "absent"
    deployer.destroy(ctx)  # destroying nothing succeeds


def test_rollout_state_reads_conditions_and_counts() -> None:
    lagging = {
        "kind": "Deployment",
        "metadata": {"generation": 3},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 2},
    }
    assert rollout_state(lagging)[0] == "partial"
    half = {
        "kind": "Deployment",
        "metadata": {"generation": 1},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, "updatedReplicas": 2, "availableReplicas": 1},
    }
    assert rollout_state(half) == ("partial", "1/2 replicas available, 2 updated")
    sts = {
        "kind": "StatefulSet",
        "spec": {"replicas": 1},
        "status": {
            "updatedReplicas": 1,
            "readyReplicas": 1,
            "currentRevision": "a",
            "updateRevision": "b",
        },
    }
    assert rollout_state(sts)[0] == "partial"
    job_failed = {
        "kind": "Job",
        "status": {
            "conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]
        },
    }
    assert rollout_state(job_failed) == ("failed", "BackoffLimitExceeded")
    assert rollout_state({"kind": "Job", "status": {"succeeded": 1}})[0] == "ready"
    assert rollout_state({"kind": "CronJob"})[0] == "ready"


class TestClusterModeConformance(DeployerConformance):
    """The deployment kit's checks (all remote: through the deployer's own answers) against
    cluster mode talking to the LOCAL HTTP STUB. The stub runs nothing: no pods exist, so
    status reads the rollout only and logs are empty."""

    @pytest.fixture
    def deployer(self, stub: KubeStub) -> KubernetesDeployer:
        options = EnvironmentOptions(mode="cluster", namespace="apps", ready_timeout=4)
        return KubernetesDeployer(Settings(environments={"dev": options}))


def _cluster_reachable() -> bool:
    if not os.environ.get("KUBECONFIG"):
        return False
    try:
        from lightkube import Client
        from lightkube.resources.core_v1 import Namespace

        next(iter(Client(timeout=5).list(Namespace)), None)
    except Exception:
        return False
    return True


@pytest.mark.cluster
def test_live_cluster(podium_env: EnvironmentInfo) -> None:
    if not _cluster_reachable():
        pytest.skip("KUBECONFIG does not reach a Kubernetes cluster (none runs on CI machines)")
    namespace = os.environ.get("PODIUM_TEST_NAMESPACE", "default")
    options = EnvironmentOptions(mode="cluster", namespace=namespace, ready_timeout=180)
    deployer = KubernetesDeployer(Settings(environments={"dev": options}))
    ctx = DeployContext("podium-live", podium_env)
    live = RenderedWorkload(
        name="podium-live",
        containers={
            "main": RenderedContainer(name="main", image="busybox:1.36", command=["sleep", "3600"])
        },
    )
    try:
        deployer.deploy(ctx, live)
        assert deployer.status(ctx).state in ("ready", "partial")
    finally:
        deployer.destroy(ctx)
    assert deployer.status(ctx).state == "absent"
