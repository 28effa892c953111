"""The port contract of the developer guide: the app listens on ``$PORT``, which podium-local
assigns; a Score file that sets ``PORT`` itself fails with a hint saying so."""

from __future__ import annotations

import urllib.request

import pytest
from conftest import WORKLOAD_PYTHON

from podium.plugin import (
    DeployContext,
    EnvironmentInfo,
    HttpProbe,
    Probe,
    RenderedContainer,
    RenderedWorkload,
    ResourceError,
    ServicePort,
)
from podium_local.deploy.deployer import LocalDeployer
from podium_local.settings import Settings

# The developer guide's hello app ("Ports: listen where the deployer tells you").
APP = """
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello\\n")

port = int(os.environ.get("PORT", "8080"))
HTTPServer(("127.0.0.1", port), Hello).serve_forever()
"""


def hello(**variables: str) -> RenderedWorkload:
    return RenderedWorkload(
        name="hello",
        containers={
            "web": RenderedContainer(
                name="web",
                image="python:3.12-slim",
                command=[WORKLOAD_PYTHON, "-u", "-c", APP],
                variables=dict(variables),
                readiness_probe=Probe(http_get=HttpProbe(port=8080, path="/")),
            )
        },
        ports={"http": ServicePort(port=80, target_port=8080)},
    )


def test_the_guide_app_listens_on_the_assigned_port(env: EnvironmentInfo) -> None:
    deployer = LocalDeployer(Settings(readiness_timeout=20, stop_timeout=5))
    ctx = DeployContext(workload="hello", env=env, release=1)
    try:
        result = deployer.deploy(ctx, hello())
        with urllib.request.urlopen(result.urls[0], timeout=5) as response:
            assert response.read() == b"hello\n"
        assert not result.urls[0].endswith(":8080")  # the deployer's port, not the Score one
    finally:
        deployer.destroy(ctx)


def test_a_port_variable_that_overrides_the_assigned_one_is_named(env: EnvironmentInfo) -> None:
    deployer = LocalDeployer(Settings(readiness_timeout=3, stop_timeout=5))
    ctx = DeployContext(workload="hello", env=env, release=1)
    try:
        with pytest.raises(ResourceError) as failed:
            deployer.deploy(ctx, hello(PORT="8080"))  # the old guide example
        hint = failed.value.hint or ""
        assert "sets variables.PORT = '8080'" in hint and "listen on $PORT" in hint
        assert "'podium logs hello'" in hint
    finally:
        deployer.destroy(ctx)
