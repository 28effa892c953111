"""A real moto server over HTTP on 127.0.0.1, shared by the session and reset per test."""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from podium.platform.context import EnvironmentInfo
from podium_aws.clients import AwsClients
from podium_aws.settings import Settings

REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    # Fake credentials for signing only: nothing here may ever reach real AWS.
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    os.environ.pop("AWS_PROFILE", None)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


@pytest.fixture
def aws(moto_endpoint: str) -> str:
    """The moto endpoint, emptied before the test."""
    reset_moto(moto_endpoint)
    return moto_endpoint


@pytest.fixture
def settings(aws: str) -> Settings:
    return Settings(region=REGION, endpoint_url=aws, tags={"team": "platform"})


@pytest.fixture
def clients(settings: Settings) -> Iterator[AwsClients]:
    made = AwsClients(settings)
    yield made
    made.close()


@pytest.fixture
def boto(aws: str) -> Callable[[str], Any]:
    """Raw boto3 clients against moto, for asserting what really exists."""
    import boto3

    return lambda service: boto3.client(service, region_name=REGION, endpoint_url=aws)


@pytest.fixture
def env(tmp_path: Any) -> EnvironmentInfo:
    state = tmp_path / "state"
    state.mkdir()
    return EnvironmentInfo(platform="shop", environment="prod", state_dir=state)
