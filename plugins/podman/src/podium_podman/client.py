"""Podman's API through the ``docker`` SDK: the Docker-compatible calls plus a few libpod ones.

Containers are created with libpod's ``/libpod/containers/create`` (it takes secrets
as files and host networking as a namespace mode); everything else uses the
Docker-compatible endpoints the SDK knows. The SDK is imported here only, when a
deployer call needs it.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

from podium.plugin import ResourceError, TransientError

#: The Docker API version requested (Podman 4 serves 1.40/1.41): no version probe per call.
API_VERSION = "1.41"


def api_client(url: str, *, timeout: float = 60.0) -> Any:
    import docker

    return docker.APIClient(base_url=url, version=API_VERSION, timeout=int(timeout))


def ping(url: str) -> bool:
    return bool(api_client(url, timeout=2).ping())


class Podman:
    """The calls podium-podman makes, with errors turned into Podium's."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.api = api_client(url)

    def close(self) -> None:
        self.api.close()

    # --- libpod ------------------------------------------------------------------
    def _libpod(self, method: str, path: str, *args: Any, **query: Any) -> Any:
        url = self.api._url("/libpod" + path, *args)
        if query:
            url += "?" + urllib.parse.urlencode(query)
        return url

    def create_container(self, spec: Mapping[str, Any]) -> str:
        url = self._libpod("POST", "/containers/create")
        response = self.api._post_json(url, data=dict(spec))
        _check(response, f"create container {spec.get('name')}")
        return str(response.json()["Id"])

    def create_secret(self, name: str, value: str, driver_options: Mapping[str, str]) -> str:
        url = self._libpod(
            "POST",
            "/secrets/create",
            name=name,
            driver="shell",
            driveropts=json.dumps(dict(driver_options)),
        )
        response = self.api._post(url, data=value.encode())
        _check(response, f"create secret {name}")
        return str(response.json()["ID"])

    def secret_exists(self, name: str) -> bool:
        response = self.api._get(self._libpod("GET", "/secrets/{0}/json", name))
        if response.status_code == 404:
            return False
        _check(response, f"inspect secret {name}")
        return True

    def secret_names(self) -> list[str]:
        response = self.api._get(self._libpod("GET", "/secrets/json"))
        _check(response, "list secrets")
        return [str((s.get("Spec") or {}).get("Name", "")) for s in response.json() or []]

    def remove_secret(self, name: str) -> None:
        response = self.api._delete(self._libpod("DELETE", "/secrets/{0}", name))
        if response.status_code != 404:
            _check(response, f"remove secret {name}")

    def run_healthcheck(self, name: str) -> tuple[bool, str]:
        """Run the container's health check now (Podman's timers need systemd)."""
        response = self.api._get(self._libpod("GET", "/containers/{0}/healthcheck", name))
        if response.status_code >= 400:
            return False, f"health check could not run: {_message(response)}"
        body = response.json()
        status = str(body.get("Status", ""))
        log = body.get("Log") or []
        output = str(log[-1].get("Output", "")).strip() if log else ""
        return status == "healthy", f"health check {status}" + (f": {output}" if output else "")

    # --- Docker-compatible -----------------------------------------------------------
    def exec_check(self, name: str, argv: list[str]) -> tuple[bool, str]:
        """Run ``argv`` in the running container: (exited 0?, message). Its output is
        not kept (it may show what the container's secrets are)."""
        import docker.errors

        try:
            # Podman attaches at least one stream; the output is read and dropped.
            exec_id = self.api.exec_create(name, argv, stdout=True, stderr=True)["Id"]
            self.api.exec_start(exec_id)
            code = self.api.exec_inspect(exec_id).get("ExitCode")
        except docker.errors.APIError as exc:
            return False, f"command could not run: {getattr(exc, 'explanation', None) or exc}"
        return (True, "command passed") if code == 0 else (False, f"command exited with {code}")

    def inspect(self, name: str) -> dict[str, Any] | None:
        import docker.errors

        try:
            return dict(self.api.inspect_container(name))
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            raise _error(exc, f"inspect {name}") from None

    def containers(self, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        return list(self.api.containers(all=True, filters=filters))

    def start(self, name: str) -> None:
        import docker.errors

        try:
            self.api.start(name)
        except docker.errors.APIError as exc:
            raise _error(exc, f"start {name}") from None

    def remove(self, name: str, *, stop_timeout: int) -> None:
        """Stop (TERM, then KILL after ``stop_timeout``) and remove; gone already is fine."""
        import docker.errors

        try:
            self.api.stop(name, timeout=stop_timeout)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            pass  # not running: remove it anyway
        try:
            self.api.remove_container(name, force=True, v=False)
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            raise _error(exc, f"remove {name}") from None

    def image(self, reference: str) -> dict[str, Any] | None:
        import docker.errors

        try:
            return dict(self.api.inspect_image(reference))
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.APIError as exc:
            raise _error(exc, f"inspect image {reference}") from None

    def build(self, context: str, dockerfile: str, tag: str) -> list[str]:
        """Build ``tag`` from a local context; returns the build's output lines."""
        import docker.errors

        output: list[str] = []
        try:
            for chunk in self.api.build(
                path=context, dockerfile=dockerfile, tag=tag, rm=True, pull=False, decode=True
            ):
                if "stream" in chunk:
                    output.append(str(chunk["stream"]).rstrip())
                if "error" in chunk:
                    raise ResourceError(
                        f"building {tag} failed: {chunk['error']}".strip(),
                        hint="the base image must exist locally (no registry is used)",
                    )
        except docker.errors.APIError as exc:
            raise _error(exc, f"build {tag}") from None
        return output


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.text).strip()[:300]
    return str(body.get("message") or body.get("cause") or body)[:300]


def _check(response: Any, what: str) -> None:
    if response.status_code >= 400:
        raise ResourceError(f"podman: {what} failed: {_message(response)}")


def _error(exc: Any, what: str) -> Exception:
    status = getattr(exc, "status_code", None) or 0
    text = getattr(exc, "explanation", None) or str(exc)
    if status == 0:  # no answer at all: the service may be restarting
        return TransientError(f"podman: {what} failed: {text}")
    return ResourceError(f"podman: {what} failed: {text}")
