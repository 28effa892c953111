"""Readiness and liveness probes: an HTTP GET or a command, each answering ok and why.

Like Kubernetes: an HTTP probe passes on any 2xx or 3xx answer and does not verify an
HTTPS certificate (it checks the process, not its identity); an exec probe passes when
the command exits 0 within the timeout. Probes never go through an HTTP proxy.
"""

from __future__ import annotations

import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium.deployment.contract import HttpProbe, Probe

#: Where a process deployer's containers listen.
LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class ProbeResult:
    """One probe attempt: whether it passed, and what was checked and what went wrong.

    The message quotes an exec probe's output: mask the workload's secrets in it
    before it reaches logs or errors.
    """

    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok


def probe_http(
    url: str, *, timeout: float, headers: Mapping[str, str] | None = None
) -> ProbeResult:
    """GET ``url``; pass on a 2xx or 3xx status."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if url.lower().startswith("https:"):
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=unverified))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return ProbeResult(False, f"HTTP GET {url} failed: {reason}")
    return ProbeResult(200 <= status < 400, f"HTTP GET {url} returned {status}")


def probe_exec(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    user: int | None = None,
    group: int | None = None,
) -> ProbeResult:
    """Run ``argv`` (no shell) with ``env`` and ``cwd``; pass when it exits 0.

    ``user``/``group`` run it as another user (when Podium runs as root and the
    workload as its own user). A command still running at ``timeout`` is killed.
    """
    command = list(argv)
    shown = " ".join(command)
    if not command:
        return ProbeResult(False, "probe command is empty")
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            check=False,
            user=user,
            group=group,
            # as another user: none of the caller's supplementary groups
            extra_groups=[] if user is not None else None,
        )
    except FileNotFoundError:
        return ProbeResult(False, f"probe command {shown!r}: {command[0]} not found")
    except PermissionError:
        return ProbeResult(False, f"probe command {shown!r}: permission denied")
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"probe command {shown!r} timed out after {timeout:g}s")
    if done.returncode == 0:
        return ProbeResult(True, f"probe command {shown!r} succeeded")
    output = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
    detail = (": " + " | ".join(output)) if output else ""
    return ProbeResult(False, f"probe command {shown!r} exited {done.returncode}{detail}")


def http_probe_url(
    probe: HttpProbe, *, host: str = LOCALHOST, ports: Mapping[int, int] | None = None
) -> str:
    """The URL an :class:`~podium.deployment.contract.HttpProbe` asks for.

    ``ports`` maps the workload's port numbers (Score ``port`` and ``targetPort``) to
    the ports really listened on (a process deployer's assignment); ``probe.host``
    wins over ``host``.
    """
    port = (ports or {}).get(probe.port, probe.port)
    path = probe.path if probe.path.startswith("/") else "/" + probe.path
    return f"{probe.scheme.lower()}://{probe.host or host}:{port}{path}"


def run_probe(
    probe: Probe,
    *,
    timeout: float,
    host: str = LOCALHOST,
    ports: Mapping[int, int] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> ProbeResult:
    """Run a contract :class:`~podium.deployment.contract.Probe`: its HTTP GET, then its
    command; it passes when both (those it has) pass."""
    results: list[ProbeResult] = []
    if probe.http_get is not None:
        url = http_probe_url(probe.http_get, host=host, ports=ports)
        results.append(probe_http(url, timeout=timeout, headers=probe.http_get.headers))
    if probe.exec_command:
        results.append(probe_exec(probe.exec_command, timeout=timeout, env=env, cwd=cwd))
    if not results:
        return ProbeResult(True, "no probe")
    failed = [r for r in results if not r.ok]
    return failed[0] if failed else ProbeResult(True, "; ".join(r.message for r in results))
