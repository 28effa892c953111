"""examples/shop's podium.containers.toml: prod renders the shop for Kubernetes, Score files
unchanged, every object strictly valid, no secret value in any file."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import Project, load_documents, strictly_valid

SHOP = Path(__file__).resolve().parents[3] / "examples" / "shop"
DB_PASSWORD = "shop-db-canary-4821"
CACHE_PASSWORD = "shop-cache-canary-9173"


def test_prod_renders_the_shop_and_every_object_is_valid(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns(".podium", "deploy"))
    project = Project(root)
    config = ("-c", "podium.containers.toml")
    project.ok(*config, "secrets", "set", "-e", "prod", "shop-db-password", stdin=DB_PASSWORD)
    project.ok(*config, "secrets", "set", "-e", "prod", "shop-cache-password", stdin=CACHE_PASSWORD)
    project.ok(*config, "validate", "-e", "prod")
    project.ok(*config, "up", "-e", "prod", "--yes")
    project.ok(*config, "render", "-e", "prod", "--out", "review")
    files = sorted((root / "deploy" / "prod").glob("*.yaml"))
    assert [f.name for f in files] == ["shop-web.yaml", "shop-worker.yaml"]
    kinds = []
    for path in files:
        text = path.read_text()
        assert DB_PASSWORD not in text and CACHE_PASSWORD not in text
        assert (root / "review" / path.name).read_text() == text  # render == what up wrote
        documents = load_documents(path)
        strictly_valid(documents)
        kinds += [(path.stem, d["kind"]) for d in documents]
    assert ("shop-web", "Service") in kinds and ("shop-web", "Deployment") in kinds
    assert ("shop-worker", "Deployment") in kinds
    # the worker's only port is its /metrics endpoint (for podium-prometheus): one Service port
    worker = {d["kind"]: d for d in load_documents(root / "deploy" / "prod" / "shop-worker.yaml")}
    assert [p["port"] for p in worker["Service"]["spec"]["ports"]] == [9100]
    assert ("shop-web", "ExternalSecret") in kinds and ("shop-web", "PodDisruptionBudget") in kinds
    web = {d["kind"]: d for d in load_documents(root / "deploy" / "prod" / "shop-web.yaml")}
    container = web["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.example.com/shop/app:1.4.2"
    # the Score files are the shop's own, unchanged
    for score in ("web.score.yaml", "worker.score.yaml"):
        assert (root / score).read_text() == (SHOP / score).read_text()
