"""Score resources and probes as Kubernetes fields: rendered, strictly valid, checked.

The schemas take any string as a quantity, so the renderer itself refuses one that
does not parse (the API server would, at apply time, far from the Score file).
"""

from __future__ import annotations

import pytest
from conftest import strictly_valid

from podium.plugin import (
    HttpProbe,
    Probe,
    RenderedContainer,
    RenderedWorkload,
    ResourceError,
    ServicePort,
)
from podium_kubernetes.render import Target, render_objects
from podium_kubernetes.settings import EnvironmentOptions


def workload(limits: dict[str, str], requests: dict[str, str]) -> RenderedWorkload:
    web = RenderedContainer(
        name="web",
        image="registry.example/web:1",
        limits=limits,
        requests=requests,
        liveness_probe=Probe(http_get=HttpProbe(port=8080, path="/alive")),
        readiness_probe=Probe(exec_command=["test", "-e", "/tmp/ready"]),
    )
    return RenderedWorkload(
        name="web", containers={"web": web}, ports={"http": ServicePort(port=80, target_port=8080)}
    )


def target() -> Target:
    return Target(
        platform="acme", environment="prod", release=1, owner=None, options=EnvironmentOptions()
    )


def test_limits_requests_and_probes_render_strictly_valid() -> None:
    objects = render_objects(
        workload({"cpu": "0.5", "memory": "1G"}, {"cpu": "250m", "memory": "128Mi"}), target()
    )
    strictly_valid(objects)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {
        "limits": {"cpu": "0.5", "memory": "1G"},
        "requests": {"cpu": "250m", "memory": "128Mi"},
    }
    assert container["livenessProbe"]["httpGet"] == {"path": "/alive", "port": 8080}
    assert container["readinessProbe"]["exec"] == {"command": ["test", "-e", "/tmp/ready"]}


def test_a_quantity_that_does_not_parse_is_refused_naming_the_container() -> None:
    with pytest.raises(ResourceError) as refused:
        render_objects(workload({"memory": "lots"}, {}), target())
    assert "web.containers.web.resources.limits.memory: 'lots'" in str(refused.value)
