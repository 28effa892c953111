"""A LOCAL HTTP STUB of a few Kubernetes API endpoints — NOT a Kubernetes API server.

No API server can run where these tests run, so cluster mode's requests (server-side
apply, list by label, delete, get, pod logs) are checked against this stub: it records
every request and keeps applied objects in memory, and it sets a rollout status on
workload objects the way the test asks (``rollout = "ready"`` or ``"stuck"``). It does
no validation, admission, defaulting or garbage collection.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml

PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?(?P<log>/log)?$"
)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    body: Any


@dataclass
class KubeStub:
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    rollout: str = "ready"
    logs: dict[str, str] = field(default_factory=dict)
    url: str = ""

    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                stub.handle(self, "GET")

            def do_PATCH(self) -> None:
                stub.handle(self, "PATCH")

            def do_DELETE(self) -> None:
                stub.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def kubeconfig(self) -> str:
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "stub", "cluster": {"server": self.url}}],
                "users": [{"name": "stub", "user": {}}],
                "contexts": [{"name": "stub", "context": {"cluster": "stub", "user": "stub"}}],
                "current-context": "stub",
            }
        )

    # --- the endpoints ------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(handler.path)
        query = parse_qs(url.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type") or ""
        body = yaml.safe_load(raw) if raw else None
        self.requests.append(Request(method, url.path, query, content_type, body))
        match = PATH.match(url.path)
        if match is None:
            return self.reply(handler, 404, {"kind": "Status", "code": 404, "message": "no route"})
        plural, name = match["plural"], match["name"]
        api = "v1" if match["core"] else f"{match['group']}/{match['version']}"
        key = (api, plural, name or "")
        if match["log"]:
            text = self.logs.get(f"{name}/{query.get('container', [''])[0]}", "")
            return self.reply_text(handler, text)
        if method == "PATCH" and name:
            obj = dict(body)
            previous = self.objects.get(key, {})
            generation = (previous.get("metadata", {}).get("generation") or 0) + 1
            obj["metadata"] = {**obj["metadata"], "generation": generation}
            obj["status"] = self.status_for(obj, generation)
            self.objects[key] = obj
            return self.reply(handler, 200, obj)
        if method == "GET" and name:
            found = self.objects.get(key)
            if found is None:
                return self.reply(
                    handler, 404, {"kind": "Status", "code": 404, "reason": "NotFound"}
                )
            return self.reply(handler, 200, found)
        if method == "GET":
            selector = dict(
                part.split("=", 1)
                for part in query.get("labelSelector", [""])[0].split(",")
                if part
            )
            items = [
                o
                for (a, p, _), o in sorted(self.objects.items())
                if a == api
                and p == plural
                and all(o["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
            ]
            return self.reply(
                handler, 200, {"apiVersion": api, "kind": "List", "metadata": {}, "items": items}
            )
        if method == "DELETE" and name:
            self.objects.pop(key, None)
            return self.reply(
                handler, 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
            )
        return self.reply(handler, 405, {"kind": "Status", "code": 405})

    def status_for(self, obj: dict[str, Any], generation: int) -> dict[str, Any]:
        if obj.get("kind") not in ("Deployment", "StatefulSet"):
            return {}
        replicas = obj["spec"].get("replicas", 1)
        if self.rollout == "stuck":
            return {
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": 0,
                "conditions": [
                    {
                        "type": "Progressing",
                        "status": "False",
                        "reason": "ProgressDeadlineExceeded",
                        "message": "ReplicaSet has timed out progressing.",
                    }
                ],
            }
        return {
            "observedGeneration": generation,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "currentRevision": "r1",
            "updateRevision": "r1",
            "conditions": [{"type": "Available", "status": "True"}],
        }

    def add_pod(self, name: str, labels: dict[str, str], containers: dict[str, bool]) -> None:
        self.objects[("v1", "pods", name)] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "apps", "labels": labels},
            "spec": {"containers": [{"name": c, "image": "x"} for c in containers]},
            "status": {
                "containerStatuses": [
                    {
                        "name": c,
                        "ready": ready,
                        "restartCount": 0 if ready else 3,
                        "image": "x",
                        "imageID": "",
                        "state": {} if ready else {"waiting": {"reason": "CrashLoopBackOff"}},
                    }
                    for c, ready in containers.items()
                ]
            },
        }

    @staticmethod
    def reply(handler: BaseHTTPRequestHandler, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        handler.send_response(code)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def reply_text(handler: BaseHTTPRequestHandler, text: str) -> None:
        data = text.encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
