"""Render mode and ``podium render`` through the real CLI: every object strictly valid,
stable bytes, annotations, secrets only as references, git hand-off, patches."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Project, load_documents, strictly_valid

from podium.plugin import ResourceError, hookimpl

CONFIG = """
[platform]
name = "acme"
workloads = ["api.score.yaml"]

[plugins]
allow = ["kubernetes"{extra_allow}]

[plugins.kubernetes]
{version}

[plugins.kubernetes.environments.prod]
mode = "render"
namespace = "acme"
output_dir = "gitops/prod"
{git}
ingress_class = "nginx"
secret_store = "vault"

[environments.prod]
deployer = "kubernetes"

[[rules]]
type = "postgres"
provisioner = "kubernetes-postgres"
params.outputs = {{ host = "db.internal", port = 5432, name = "api", username = "api" }}
params.secret_outputs = {{ password = "api-db-password" }}

[[rules]]
type = "route"
provisioner = "kubernetes-route"

[[rules]]
type = "volume"
provisioner = "kubernetes-volume"
params = {{ size = "5Gi" }}
"""

SCORE = """
apiVersion: score.dev/v1b1
metadata:
  name: api
  annotations:
    podium.dev/autoscale: "2-5"
    podium.dev/disruption-budget: "50%"
{annotations}
containers:
  main:
    image: ghcr.io/acme/api:2.0
    command: ["/app/api"]
    args: ["--port", "8080"]
    variables:
      DB_URL: "postgres://${{resources.db.username}}@${{resources.db.host}}:${{resources.db.port}}/api"
      DB_PASSWORD: ${{resources.db.password}}
    files:
      - target: /etc/api/config.yaml
        mode: "0640"
        content: "greeting: hello"
    volumes:
      - source: ${{resources.data}}
        target: /var/lib/api
    resources:
      limits: {{cpu: "500m", memory: 256Mi}}
      requests: {{cpu: "100m", memory: 128Mi}}
    readinessProbe:
      httpGet: {{port: 8080, path: /ready}}
    livenessProbe:
      exec: {{command: ["/app/api", "--check"]}}
  migrate:
    image: ghcr.io/acme/api:2.0
    command: ["/app/migrate"]
  sidecar:
    image: ghcr.io/acme/proxy:1
    before:
      migrate: {{ready: complete}}
service:
  ports:
    http: {{port: 80, targetPort: 8080}}
resources:
  db:
    type: postgres
  data:
    type: volume
  web:
    type: route
    params: {{host: api.acme.example, path: /v1, port: http}}
"""

PASSWORD = "s3cret-db-password-xyz"


def setup(
    project: Project,
    *,
    annotations: str = "",
    git: bool = False,
    version: str = "",
    extra_allow: str = "",
) -> None:
    project.write(
        "podium.toml",
        CONFIG.format(
            git='git_repository = "gitops"' if git else "",
            version=f'kubernetes_version = "{version}"' if version else "",
            extra_allow=extra_allow,
        ),
    )
    project.write("api.score.yaml", SCORE.format(annotations=annotations))
    project.ok("secrets", "set", "-e", "prod", "api-db-password", stdin=PASSWORD)


def by_kind(documents: list[dict]) -> dict[str, dict]:
    return {d["kind"]: d for d in documents}


def test_up_renders_every_object_strictly_valid_and_without_secret_values(project: Project) -> None:
    setup(project)
    project.ok("up", "-e", "prod", "--yes")
    path = project.root / "gitops" / "prod" / "api.yaml"
    text = path.read_text()
    assert text.startswith("---\n")  # a YAML stream, one document per object
    assert PASSWORD not in text
    documents = load_documents(path)
    strictly_valid(documents)
    assert [d["kind"] for d in documents] == [
        "ExternalSecret",
        "ConfigMap",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    ]
    kinds = by_kind(documents)
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    assert "replicas" not in kinds["Deployment"]["spec"]  # the autoscaler owns it
    assert [c["name"] for c in pod["initContainers"]] == ["migrate"]
    main = pod["containers"][0]
    env = {e["name"]: e for e in main["env"]}
    assert env["DB_URL"]["value"] == "postgres://api@db.internal:5432/api"
    assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "api-secrets",
        "key": "main.DB_PASSWORD",
    }
    assert main["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}
    assert main["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 8080}
    assert main["livenessProbe"]["exec"] == {"command": ["/app/api", "--check"]}
    es = kinds["ExternalSecret"]["spec"]
    assert es["secretStoreRef"] == {"name": "vault", "kind": "ClusterSecretStore"}
    assert es["data"] == [
        {
            "secretKey": "main.DB_PASSWORD",
            "remoteRef": {"key": "acme/prod/api", "property": "main.DB_PASSWORD"},
        }
    ]
    assert kinds["ConfigMap"]["data"] == {"main.file-0": "greeting: hello"}
    files = next(v for v in pod["volumes"] if v["name"] == "files")
    assert files["configMap"]["items"] == [
        {"key": "main.file-0", "path": "main.file-0", "mode": 0o640}
    ]
    claim = kinds["PersistentVolumeClaim"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    claims = [
        v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    ]
    assert claims == [claim["metadata"]["name"]]
    mounts = {m["mountPath"] for m in main["volumeMounts"]}
    assert mounts == {"/etc/api/config.yaml", "/var/lib/api"}
    rule = kinds["Ingress"]["spec"]["rules"][0]
    assert rule["host"] == "api.acme.example"
    assert rule["http"]["paths"][0]["path"] == "/v1"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": "api", "port": {"number": 80}}
    assert kinds["HorizontalPodAutoscaler"]["spec"]["minReplicas"] == 2
    assert kinds["PodDisruptionBudget"]["spec"]["minAvailable"] == "50%"
    labels = kinds["Service"]["metadata"]["labels"]
    assert labels["podium.dev/release"] == "1"
    assert labels["app.kubernetes.io/part-of"] == "acme"
    assert labels["podium.dev/environment"] == "prod"


def test_render_command_is_byte_identical_and_writes_nothing_secret(project: Project) -> None:
    setup(project)
    project.ok("up", "-e", "prod", "--yes")
    deployed = (project.root / "gitops" / "prod" / "api.yaml").read_bytes()
    project.ok("render", "-e", "prod", "--out", "out1")
    project.ok("render", "-e", "prod", "--out", "out2", "-f", "api.score.yaml")
    first = (project.root / "out1" / "api.yaml").read_bytes()
    assert first == (project.root / "out2" / "api.yaml").read_bytes() == deployed
    assert PASSWORD.encode() not in first


def test_render_before_provisioning_says_what_to_do(project: Project) -> None:
    setup(project)
    result = project.podium("render", "-e", "prod", "--out", "out")
    assert result.returncode != 0
    assert "not provisioned" in result.stderr and "podium up -e prod" in result.stderr


KINDS = {
    "StatefulSet": "    podium.dev/kind: StatefulSet\n",
    "Job": "    podium.dev/kind: Job\n",
    "CronJob": '    podium.dev/kind: CronJob\n    podium.dev/schedule: "*/10 * * * *"\n',
}


def test_kind_annotation_chooses_the_workload_object(project: Project) -> None:
    setup(project)
    files = []
    for kind, kind_annotations in KINDS.items():
        name = kind.lower()
        text = SCORE.format(annotations=kind_annotations).replace("name: api", f"name: {name}", 1)
        if kind != "StatefulSet":  # autoscaling and budgets are for serving kinds only
            text = text.replace('    podium.dev/autoscale: "2-5"\n', "")
            text = text.replace('    podium.dev/disruption-budget: "50%"\n', "")
        project.write(f"{name}.score.yaml", text)
        files += ["-f", f"{name}.score.yaml"]
    project.ok("up", "-e", "prod", "--yes", *files)
    for kind in KINDS:
        documents = load_documents(project.root / "gitops" / "prod" / f"{kind.lower()}.yaml")
        strictly_valid(documents)
        kinds = by_kind(documents)
        assert kind in kinds
        if kind == "StatefulSet":
            assert kinds["Service"]["spec"]["clusterIP"] == "None"
            assert kinds["StatefulSet"]["spec"]["serviceName"] == "statefulset"
        if kind == "CronJob":
            assert kinds["CronJob"]["spec"]["schedule"] == "*/10 * * * *"


def test_autoscaling_a_job_fails_validate_at_its_line(project: Project) -> None:
    setup(project, annotations="    podium.dev/kind: Job\n")
    result = project.podium("validate", "-e", "prod")
    assert result.returncode == 5, result.stdout + result.stderr
    assert "kubernetes.annotations" in result.stdout + result.stderr
    assert "api.score.yaml:" in result.stdout + result.stderr


def test_a_wrong_annotation_fails_validate_at_its_line(project: Project) -> None:
    setup(project, annotations="    podium.dev/kind: DaemonSet\n")
    result = project.podium("validate", "-e", "prod")
    assert result.returncode == 5
    assert "api.score.yaml:" in result.stdout + result.stderr
    assert "DaemonSet" in result.stdout + result.stderr


def test_an_older_kubernetes_version_is_validated_against(project: Project) -> None:
    setup(project, version="1.25")
    project.ok("up", "-e", "prod", "--yes")
    strictly_valid(load_documents(project.root / "gitops" / "prod" / "api.yaml"), "1.25")
    text = (project.root / "podium.toml").read_text()
    project.write(
        "podium.toml", text.replace('kubernetes_version = "1.25"', 'kubernetes_version = "1.20"')
    )
    result = project.podium("render", "-e", "prod", "--out", "old")
    assert result.returncode != 0
    assert "kubernetes_version '1.20' cannot be validated" in result.stderr
    assert "1.25 to 1." in result.stderr


def test_git_repository_gets_one_commit_per_change_and_none_for_no_change(project: Project) -> None:
    subprocess.run(["git", "init", "-q", str(project.root / "gitops")], check=True)
    setup(project, git=True)
    project.ok("up", "-e", "prod", "--yes")

    def commits() -> list[str]:
        log = subprocess.run(
            ["git", "-C", str(project.root / "gitops"), "log", "--format=%s"],
            capture_output=True,
            text=True,
            check=True,
        )
        return log.stdout.splitlines()

    assert commits() == ["acme/prod: api release 1"]
    project.ok("up", "-e", "prod", "--yes")  # nothing changed: no deploy, no commit
    assert len(commits()) == 1
    project.write("api.score.yaml", SCORE.format(annotations="").replace("2-5", "3-6"))
    project.ok("up", "-e", "prod", "--yes")
    assert commits()[0] == "acme/prod: api release 2"
    shown = subprocess.run(
        ["git", "-C", str(project.root / "gitops"), "log", "-p"], capture_output=True, text=True
    ).stdout
    assert PASSWORD not in shown
    project.ok("destroy", "-e", "prod", "--yes", "--allow-data-loss")
    assert commits()[0] == "acme/prod: remove api"
    assert not (project.root / "gitops" / "prod" / "api.yaml").exists()


class PatchPlugin:
    """A platform's own plugin, given to the Platform in-process (as an embedder would)."""

    PODIUM_API = ">=1.3,<2"

    def __init__(self, extra: Callable[[Any, dict[str, Any]], None] | None = None) -> None:
        self.extra = extra
        self.seen: list[tuple[str, str | None, str]] = []

    @hookimpl
    def podium_patch_manifests(
        self,
        workload: Any,
        objects: list[dict[str, Any]],
        env: Any,
        owner: str | None,
        deployer: str,
    ) -> None:
        self.seen.append((workload.name, owner, deployer))
        for obj in objects:
            if obj["kind"] == "Deployment":
                obj["spec"]["template"]["spec"]["priorityClassName"] = "business-" + env.environment
                kind = workload.annotations.get("podium.dev/kind", "Deployment")
                obj["metadata"]["annotations"] = {"acme/kind": kind, "acme/deployer": deployer}
                if self.extra is not None:
                    self.extra(workload, obj)


def patched_platform(
    tmp_path: Path, podium_platform: Callable[..., Any], patch: PatchPlugin
) -> tuple[Project, Any]:
    project = Project(tmp_path)
    setup(project)
    config = tomllib.loads((tmp_path / "podium.toml").read_text())
    platform = podium_platform(
        plugins=[("acme-patches", patch)], config=config, load_entrypoints=True
    )
    return project, platform


def test_a_patch_hook_changes_the_objects_with_the_workload_context(
    tmp_path: Path, podium_platform: Callable[..., Any]
) -> None:
    patch = PatchPlugin()
    _, platform = patched_platform(tmp_path, podium_platform, patch)
    platform.up("prod", [tmp_path / "api.score.yaml"])
    documents = load_documents(tmp_path / "gitops" / "prod" / "api.yaml")
    strictly_valid(documents)
    deployment = by_kind(documents)["Deployment"]
    assert deployment["spec"]["template"]["spec"]["priorityClassName"] == "business-prod"
    assert deployment["metadata"]["annotations"] == {
        "acme/kind": "Deployment",
        "acme/deployer": "kubernetes",
    }
    assert patch.seen and patch.seen[0][0] == "api" and patch.seen[0][2] == "kubernetes"
    rendered = platform.render("prod", [tmp_path / "api.score.yaml"], out=tmp_path / "out")
    assert rendered[0].path.read_bytes() == (tmp_path / "gitops" / "prod" / "api.yaml").read_bytes()


def test_a_patch_that_breaks_the_schema_is_refused(
    tmp_path: Path, podium_platform: Callable[..., Any]
) -> None:
    def typo(workload: Any, obj: dict[str, Any]) -> None:
        obj["spec"]["replicaz"] = 3

    _, platform = patched_platform(tmp_path, podium_platform, PatchPlugin(typo))
    _, applied = platform.up("prod", [tmp_path / "api.score.yaml"])
    failed = [r for r in applied.results if r.status == "failed"]
    assert failed and "replicaz" in str(failed[0].error)
    assert not (tmp_path / "gitops" / "prod" / "api.yaml").exists()


def test_a_patch_that_writes_a_secret_value_is_refused_by_render(
    tmp_path: Path, podium_platform: Callable[..., Any]
) -> None:
    def leak(workload: Any, obj: dict[str, Any]) -> None:
        secret = workload.containers["main"].variables["DB_PASSWORD"]
        obj["metadata"]["annotations"]["leak"] = secret.reveal()

    _, platform = patched_platform(tmp_path, podium_platform, PatchPlugin(leak))
    platform.up("prod", [tmp_path / "api.score.yaml"])  # provisions; its deploy writes the leak
    with pytest.raises(ResourceError) as refused:
        platform.render("prod", [tmp_path / "api.score.yaml"], out=tmp_path / "out")
    assert "contain one of its secret values" in str(refused.value)
    assert PASSWORD not in str(refused.value)
    assert not (tmp_path / "out" / "api.yaml").exists()


def test_render_refuses_a_deployer_that_cannot_render(project: Project) -> None:
    setup(project)
    text = (project.root / "podium.toml").read_text()
    project.write("podium.toml", text + '\n[environments.dev]\ndeployer = "nothing-renders"\n')
    result = project.podium("render", "-e", "dev", "--out", "out")
    assert result.returncode != 0
