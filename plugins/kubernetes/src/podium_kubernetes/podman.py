"""podman mode: run the rendered objects for real with ``podman kube play`` (local dev, CI).

The workload object's pod template becomes one Pod on the host network (so ports are
bound where the containers listen, on 127.0.0.1 when they bind there); files are
mounted one by one from the environment's private directory (secret files there with
mode 0600, as podium-local keeps them). Objects a single machine has no use for
(Service, Ingress, autoscaler, disruption budget, ExternalSecret) are left out. Names
are the environment's physical names, so platforms and environments never collide.

Secret variables reach the containers through a Podman secret named after the pod,
created before and removed with it: never in the YAML, labels or Podium's state.
Podman 4 resolves ``secretKeyRef`` when it creates a container, so ``podman inspect``
of the container shows them (root only, like the secret store); use cluster or render
mode where that matters.
"""

from __future__ import annotations

import base64
import copy
import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from podium.plugin import (
    ContainerStatus,
    DeployContext,
    DeploymentResult,
    EnvironmentInfo,
    HealthState,
    LogLine,
    NotFoundError,
    RenderedWorkload,
    ResourceError,
    Secret,
    TransientError,
    WorkloadStatus,
    http_probe_url,
    probe_http,
    write_atomic,
)
from podium_kubernetes.liveness import LivenessRunner, rewrite_for_podman
from podium_kubernetes.names import dns_label
from podium_kubernetes.render import secret_values
from podium_kubernetes.settings import EnvironmentOptions

#: Kinds whose pod template kube play runs here, and the pod restart policy each gets.
RUNNABLE = {"Deployment": "Always", "StatefulSet": "Always", "Job": "OnFailure"}
PROBE_TIMEOUT = 2.0


class PodmanBackend:
    def __init__(self, env: EnvironmentInfo, options: EnvironmentOptions) -> None:
        self.env = env
        self.options = options

    # --- names and bookkeeping ------------------------------------------------
    def pod(self, workload: str) -> str:
        return self.env.physical_name(f"workload/{workload}")

    def record_path(self, workload: str) -> Path:
        return self.env.state_dir / "kubernetes" / "podman" / f"{dns_label(workload)}.json"

    def record(self, workload: str) -> dict[str, Any] | None:
        path = self.record_path(workload)
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return data

    # --- podman -----------------------------------------------------------------
    def podman(
        self, *args: str, stdin: str | bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            result = subprocess.run(
                ["podman", *args],
                input=stdin.encode() if isinstance(stdin, str) else stdin,
                capture_output=True,
                check=False,
                timeout=120,
            )
        except FileNotFoundError:
            raise ResourceError(
                "podman is not installed", hint="install podman (see the podium-kubernetes page)"
            ) from None
        except subprocess.TimeoutExpired:
            raise TransientError(f"podman {args[0]} did not answer within 120 s") from None
        if check and result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip()[-500:]
            raise ResourceError(f"podman {' '.join(args[:2])} failed: {detail}")
        return result

    # --- deploy -------------------------------------------------------------------
    def deploy(
        self,
        ctx: DeployContext,
        workload: RenderedWorkload,
        objects: list[dict[str, Any]],
        text: str,
    ) -> DeploymentResult:
        pod_name = self.pod(workload.name)
        secrets = secret_values(workload)
        pod = self.pod_objects(pod_name, objects, self.file_contents(objects, secrets))
        secret_name = f"{pod_name}-secrets"
        self.podman("secret", "rm", secret_name, check=False)
        if secrets:
            payload = {
                k: base64.b64encode(v.reveal().encode()).decode() for k, v in secrets.items()
            }
            # through stdin: the value never sits in a file of ours or on a command line
            self.podman("secret", "create", secret_name, "-", stdin=json.dumps(payload))
        for claim in self.claims(pod):
            if self.podman("volume", "exists", claim, check=False).returncode != 0:
                self.podman("volume", "create", claim)
        periods = rewrite_for_podman(pod["spec"], self.busybox(pod["spec"]))
        document = yaml.safe_dump(pod, sort_keys=False)
        probes = {
            c["name"]: {"readiness": c.get("readinessProbe")} for c in pod["spec"]["containers"]
        }
        write_atomic(
            self.record_path(workload.name),
            json.dumps(
                {"pod": pod_name, "probes": probes, "release": ctx.release, "liveness": periods}
            ),
        )
        self.podman("kube", "play", "--replace", "--network", "host", "-", stdin=document)
        self.liveness(pod_name).start(periods)
        self.wait_ready(ctx, pod_name, probes)
        ports = sorted({p.target_port for p in workload.ports.values()})
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        return DeploymentResult(
            outputs={"pod": pod_name, "release": ctx.release},
            urls=urls,
            message=f"pod {pod_name} runs with podman kube play",
        )

    def pod_objects(
        self, pod_name: str, objects: list[dict[str, Any]], files: Mapping[str, bytes]
    ) -> dict[str, Any]:
        """The Pod kube play runs: the workload object's template, with files as host files.

        Podman 4 mounts a ConfigMap volume as a directory even with ``subPath``, so each
        file (``files``: key -> bytes, from the ConfigMap and the workload's secrets) is
        written to the workload's private directory and mounted on its own (hostPath File).
        """
        workload = next((o for o in objects if o.get("kind") in RUNNABLE), None)
        if workload is None:
            kinds = ", ".join(sorted({str(o.get("kind")) for o in objects}))
            raise ResourceError(
                f"podman mode runs Deployments, StatefulSets and Jobs; this workload renders {kinds}",
                hint='render CronJobs (mode = "render") or run them in a cluster',
            )
        template = copy.deepcopy(workload["spec"]["template"])
        spec = template["spec"]
        spec["restartPolicy"] = RUNNABLE[str(workload["kind"])]
        file_dir = self.files_dir(pod_name)
        volumes = [v for v in spec.get("volumes", []) if v["name"] not in ("files", "secret-files")]
        for volume in volumes:
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                volume["persistentVolumeClaim"]["claimName"] = self.env.physical_name(
                    f"claim/{claim}"
                )
        secret_name = f"{pod_name}-secrets"
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            # host network: containers listen on the host directly; kube play refuses
            # port mappings there
            container.pop("ports", None)
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    ref["name"] = secret_name
            for mount in container.get("volumeMounts", []):
                if mount["name"] in ("files", "secret-files"):
                    key = mount.pop("subPath")
                    mount["name"] = dns_label(f"file-{key}")
                    volumes.append(
                        {
                            "name": mount["name"],
                            "hostPath": {"path": str(file_dir / key), "type": "File"},
                        }
                    )
        if volumes:
            spec["volumes"] = volumes
        else:
            spec.pop("volumes", None)
        for key, data in files.items():
            write_atomic(file_dir / key, data, mode=0o600)
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod_name, "labels": template["metadata"]["labels"]},
            "spec": spec,
        }

    def liveness(self, pod_name: str) -> LivenessRunner:
        directory = self.env.state_dir / "kubernetes" / "podman"
        directory.mkdir(parents=True, exist_ok=True)
        return LivenessRunner(directory, pod_name)

    @staticmethod
    def busybox(spec: Mapping[str, Any]) -> str:
        """The host's static busybox, which makes HTTP liveness probes' requests."""
        found = shutil.which("busybox")
        wanted = any("httpGet" in (c.get("livenessProbe") or {}) for c in spec["containers"])
        if wanted and found is None:
            raise ResourceError(
                "an HTTP livenessProbe in podman mode needs busybox on this machine",
                hint="install busybox-static (it makes the request inside the container)",
            )
        return str(Path(found).resolve()) if found else "/bin/busybox"

    def files_dir(self, pod_name: str) -> Path:
        return self.env.state_dir / "kubernetes" / "podman" / "files" / pod_name

    @staticmethod
    def file_contents(
        objects: list[dict[str, Any]], secrets: Mapping[str, Secret]
    ) -> dict[str, bytes]:
        contents: dict[str, bytes] = {}
        for obj in objects:
            if obj.get("kind") == "ConfigMap":
                for key, text in (obj.get("data") or {}).items():
                    contents[key] = str(text).encode()
                for key, encoded in (obj.get("binaryData") or {}).items():
                    contents[key] = base64.b64decode(encoded)
        for key, value in secrets.items():
            if ".file-" in key:
                contents[key] = value.reveal().encode()
        return contents

    @staticmethod
    def claims(pod: Mapping[str, Any]) -> list[str]:
        return [
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["spec"].get("volumes", [])
            if "persistentVolumeClaim" in v
        ]

    def wait_ready(self, ctx: DeployContext, pod_name: str, probes: dict[str, Any]) -> None:
        limit = ctx.time_left(self.options.ready_timeout) or self.options.ready_timeout
        deadline = time.monotonic() + limit
        while True:
            status = self.container_states(pod_name, probes)
            if status and all(s.state == "ready" for s in status.values()):
                return
            if time.monotonic() >= deadline or ctx.cancelled:
                detail = "; ".join(f"{n}: {s.message}" for n, s in sorted(status.items()))
                raise ResourceError(
                    f"pod {pod_name} is not ready after {limit:g} s: {detail or 'no containers'}",
                    hint=f"podman logs {pod_name}-<container>",
                )
            ctx.sleep(0.5)

    # --- status -----------------------------------------------------------------
    def containers(self, pod_name: str) -> list[dict[str, Any]]:
        result = self.podman(
            "ps", "-a", "--filter", f"pod={pod_name}", "--format", "json", check=False
        )
        if result.returncode != 0:
            return []
        listed: list[dict[str, Any]] = json.loads(result.stdout or b"[]") or []
        return [c for c in listed if not c.get("IsInfra")]

    def container_states(self, pod_name: str, probes: dict[str, Any]) -> dict[str, ContainerStatus]:
        found = {self.short(pod_name, c): c for c in self.containers(pod_name)}
        states = {}
        for name in probes:
            info = found.get(name)
            if info is None:
                states[name] = ContainerStatus(state="absent", message="no container")
                continue
            if info.get("State") != "running":
                states[name] = ContainerStatus(
                    state="down",
                    message=f"exited ({info.get('ExitCode')})"
                    if info.get("Exited")
                    else str(info.get("State")),
                    restarts=int(info.get("Restarts") or 0),
                )
                continue
            ok, message = self.probe(f"{pod_name}-{name}", probes[name].get("readiness"))
            states[name] = ContainerStatus(
                state="ready" if ok else "down",
                message=message,
                restarts=int(info.get("Restarts") or 0),
            )
        return states

    @staticmethod
    def short(pod_name: str, info: Mapping[str, Any]) -> str:
        names = info.get("Names") or [""]
        name = str(names[0] if isinstance(names, list) else names)
        return name.removeprefix(f"{pod_name}-")

    def probe(self, container: str, spec: Mapping[str, Any] | None) -> tuple[bool, str]:
        if not spec:
            return True, "running"
        if "httpGet" in spec:
            http = spec["httpGet"]
            from podium.plugin import HttpProbe

            url = http_probe_url(HttpProbe(port=int(http["port"]), path=http.get("path", "/")))
            result = probe_http(url, timeout=PROBE_TIMEOUT)
            return result.ok, "running" if result.ok else "not ready: " + result.message[:200]
        argv = list(spec.get("exec", {}).get("command", []))
        done = self.podman("exec", container, *argv, check=False)
        return (
            done.returncode == 0,
            "running"
            if done.returncode == 0
            else f"not ready: exec probe exited {done.returncode}",
        )

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        record = self.record(ctx.workload)
        pod_name = self.pod(ctx.workload)
        if record is None or not self.containers(pod_name):
            return WorkloadStatus(workload=ctx.workload, state="absent", message="no pod")
        states = self.container_states(pod_name, record["probes"])
        runner = self.liveness(pod_name)
        if record.get("liveness") and not runner.running():
            runner.start(record["liveness"])  # e.g. after a reboot: checks on time again
        ready = [s for s in states.values() if s.state == "ready"]
        state: HealthState = (
            "ready" if len(ready) == len(states) else "partial" if ready else "down"
        )
        running = any(
            not s.message.startswith("exited") and s.state != "absent" for s in states.values()
        )
        return WorkloadStatus(
            workload=ctx.workload,
            state=state,
            message=f"pod {pod_name}, release {record.get('release')}",
            containers=states,
            redeploy=None if state == "ready" else not running,
        )

    # --- logs -----------------------------------------------------------------------
    def logs(
        self, ctx: DeployContext, *, container: str | None, follow: bool, tail: int | None
    ) -> Iterator[LogLine]:
        record = self.record(ctx.workload)
        if record is None:
            raise NotFoundError(f"{ctx.workload} is not deployed")
        names = list(record["probes"])
        if container is not None and container not in names:
            raise NotFoundError(
                f"{ctx.workload} has no container {container!r}",
                hint="containers: " + ", ".join(names),
            )
        chosen = [container] if container else names
        pod_name = record["pod"]
        return _merged_logs(pod_name, chosen, follow, tail)

    # --- destroy --------------------------------------------------------------------
    def destroy(self, ctx: DeployContext) -> None:
        pod_name = self.pod(ctx.workload)
        self.liveness(pod_name).stop()
        self.podman("pod", "rm", "--force", "--ignore", pod_name)
        self.podman("secret", "rm", f"{pod_name}-secrets", check=False)
        shutil.rmtree(self.files_dir(pod_name), ignore_errors=True)
        self.record_path(ctx.workload).unlink(missing_ok=True)


def _merged_logs(
    pod_name: str, containers: list[str], follow: bool, tail: int | None
) -> Iterator[LogLine]:
    """Each container's lines (stdout and stderr), one reader thread per stream."""
    lines: queue.Queue[LogLine | None] = queue.Queue(maxsize=1000)
    procs: list[subprocess.Popen[bytes]] = []
    threads = []
    for name in containers:
        argv = ["podman", "logs"]
        if follow:
            argv.append("--follow")
        if tail is not None:
            argv += ["--tail", str(tail)]
        proc = subprocess.Popen(
            [*argv, f"{pod_name}-{name}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        procs.append(proc)
        for stream, handle in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            thread = threading.Thread(target=_pump, args=(handle, name, stream, lines), daemon=True)
            thread.start()
            threads.append(thread)
    try:
        open_streams = len(threads)
        while open_streams:
            item = lines.get()
            if item is None:
                open_streams -= 1
                continue
            yield item
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
            proc.wait()


def _pump(handle: Any, container: str, stream: str, out: queue.Queue[LogLine | None]) -> None:
    try:
        for raw in handle:
            out.put(
                LogLine(
                    container=container,
                    text=raw.decode(errors="replace").rstrip("\n"),
                    stream=stream,
                )
            )
    finally:
        out.put(None)
