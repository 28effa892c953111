"""A real moto server over HTTP on 127.0.0.1, shared by the session and reset per test."""

from __future__ import annotations

import io
import os
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from podium.plugin import EnvironmentInfo
from podium_aws.clients import AwsClients
from podium_aws.settings import Settings

REGION = "us-east-1"


class Hold:
    """One held kind of request: moto performs it, then the reply waits for ``release``.

    A request matches when its text (``X-Amz-Target`` line, ``METHOD /path?query`` line,
    body) contains ``marker`` or, given ``when``, when ``when(text)`` is true; the first
    ``skip`` matches pass unheld.
    """

    def __init__(
        self, marker: bytes = b"", when: Callable[[bytes], bool] | None = None, skip: int = 0
    ) -> None:
        self.marker = marker
        self.when = when
        self.skip = skip
        self.reached = threading.Event()
        self.released = threading.Event()
        self.request = b""

    def matches(self, request: bytes) -> bool:
        return self.when(request) if self.when is not None else self.marker in request

    def release(self) -> None:
        self.released.set()


class Gate:
    """WSGI middleware in front of moto that can hold replies to chosen requests.

    A held request has had its effect inside moto (the bucket exists, the DB
    instance is created) but its client has not heard back: exactly the window in
    which a crash leaves a journaled intent without an outcome.
    """

    def __init__(self) -> None:
        self._holds: list[Hold] = []
        self._lock = threading.Lock()
        #: Every request's text and headers while recording (see :meth:`record`).
        self.recorded: list[tuple[bytes, dict[str, str]]] | None = None

    def hold(
        self, marker: bytes = b"", *, when: Callable[[bytes], bool] | None = None, skip: int = 0
    ) -> Hold:
        held = Hold(marker, when, skip)
        with self._lock:
            self._holds.append(held)
        return held

    def record(self) -> list[tuple[bytes, dict[str, str]]]:
        """Start keeping every request (text, lowercase headers); returns the live list."""
        with self._lock:
            self.recorded = []
            return self.recorded

    def clear(self) -> None:
        with self._lock:
            for held in self._holds:
                held.release()
            self._holds.clear()
            self.recorded = None

    def wrap(self, app: Any) -> Any:
        def gated(environ: dict[str, Any], start_response: Any) -> Any:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            request = (
                f"{environ.get('HTTP_X_AMZ_TARGET', '')}\n"
                f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}?"
                f"{environ.get('QUERY_STRING', '')}\n"
            ).encode() + body
            reply = b"".join(app(environ, start_response))
            matching = []
            with self._lock:
                if self.recorded is not None:
                    headers = {
                        k[5:].replace("_", "-").lower(): str(v)
                        for k, v in environ.items()
                        if k.startswith("HTTP_")
                    }
                    self.recorded.append((request, headers))
                for held in self._holds:
                    if held.reached.is_set() or not held.matches(request):
                        continue
                    if held.skip:
                        held.skip -= 1
                        continue
                    held.request = request
                    matching.append(held)
            for held in matching:
                held.reached.set()
                held.released.wait(120)
            return [reply]

        return gated


class GatedMotoServer(ThreadedMotoServer):  # type: ignore[misc]
    """moto's own threaded server, with a :class:`Gate` in front of its application."""

    def __init__(self, gate: Gate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate

    def _server_entry(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = self.gate.wrap(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True)
        self._server_ready_event.set()
        self._server.serve_forever()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


GATE = Gate()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
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
    server = GatedMotoServer(GATE, ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


@pytest.fixture
def aws(moto_endpoint: str) -> Iterator[str]:
    """The moto endpoint, emptied before the test."""
    reset_moto(moto_endpoint)
    yield moto_endpoint
    GATE.clear()


@pytest.fixture
def gate(aws: str) -> Gate:
    return GATE


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

    return lambda service, region=REGION: boto3.client(
        service, region_name=region, endpoint_url=aws
    )


@pytest.fixture
def env(tmp_path: Any) -> EnvironmentInfo:
    state = tmp_path / "state"
    state.mkdir()
    return EnvironmentInfo(platform="shop", environment="prod", state_dir=state)
