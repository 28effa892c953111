"""Every public Score example loads; workloads that belong together load as a group and render."""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from podium.deployment.contract import RenderedResource
from podium.errors import InputError
from podium.workload import load_workload_file, load_workloads, render_workload
from podium.workload.loader import errors_of
from podium.workload.model import Workload
from podium.workload.placeholders import references

EXAMPLES = Path(__file__).parent / "score_examples"
ALL_FILES = sorted(EXAMPLES.glob("*.yaml"))

#: Alternative versions of one workload of a sample app (same metadata.name): each is
#: loaded with the rest of the app in place of the file it replaces.
VARIANTS = {
    "examples__samples-aks-store-demo-product-score-ai.yaml": (
        "examples__samples-aks-store-demo-product-score.yaml"
    ),
}


def group_key(name: str) -> str:
    """Which files form one multi-workload sample, from their flattened upstream paths."""
    if match := re.match(r"examples__samples-(aks-store-demo|onlineboutique|traderx)-", name):
        return f"samples/{match.group(1)}"
    if match := re.match(r"score-compose__examples-(\d\d)-", name):
        return f"score-compose/{match.group(1)}"
    if name.startswith("community-provisioners__service-score-"):
        return "community-provisioners/service"
    return name


def groups() -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = defaultdict(list)
    for path in ALL_FILES:
        if path.name not in VARIANTS:
            found[group_key(path.name)].append(path)
    for variant, replaces in VARIANTS.items():
        base = found[group_key(variant)]
        found[f"{group_key(variant)}+{variant}"] = [
            EXAMPLES / variant if p.name == replaces else p for p in base
        ]
    return dict(found)


def test_the_copied_examples_are_all_there() -> None:
    assert len(ALL_FILES) == 80
    assert (EXAMPLES / "SOURCES.md").is_file()
    assert (EXAMPLES / "LICENSES" / "Apache-2.0.txt").is_file()
    covered = {p for files in groups().values() for p in files}
    assert covered == set(ALL_FILES)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_example_loads_alone(path: Path) -> None:
    workload = load_workload_file(path)
    assert workload.name == workload.spec["metadata"]["name"]
    assert workload.containers
    assert workload.path == path
    for name, request in workload.resources.items():
        assert request.name == name
        assert request.workload == workload.name
        owner = request.id or f"{workload.name}.{name}"
        assert request.uid == f"{request.type}.{request.resource_class}#{owner}"
        assert request.location is not None and request.location.line is not None
    # Deprecated list forms are normalised to maps keyed by target path.
    for container in workload.containers.values():
        for section in ("files", "volumes"):
            assert isinstance(container.get(section, {}), dict)


@pytest.mark.parametrize("key", sorted(groups()), ids=str)
def test_every_group_loads_together(key: str) -> None:
    files = groups()[key]
    workloads = load_workloads(files)
    names = [w.name for w in workloads]
    assert len(names) == len(set(names)) == len(files)
    # service-port params name another workload of the group (and one of its ports).
    by_name = {w.name: w for w in workloads}
    for workload in workloads:
        for request in workload.resources.values():
            if request.type == "service-port" and "workload" in request.params:
                target = by_name[request.params["workload"]]
                assert request.params["port"] in target.ports


def test_shared_resources_by_id_are_one_uid() -> None:
    one, two = load_workloads(groups()["score-compose/06"])
    shared_uid = "redis.default#main-cache"
    assert one.resources["cache-a"].uid == two.resources["cache-b"].uid == shared_uid
    assert two.resources["cache-c"].uid == "redis.default#workload-two.cache-c"
    shared = [
        w.resources["orders-queue"].uid
        for w in load_workloads(groups()["samples/aks-store-demo"])
        if "orders-queue" in w.resources
    ]
    assert shared == ["amqp.default#orders-queue"] * 2


def test_deprecated_list_forms_become_maps_with_their_lines() -> None:
    path = EXAMPLES / "spec__samples-score-deprecated-files-and-volumes.yaml"
    workload = load_workload_file(path)
    main = workload.containers["main"]
    assert main["files"] == {"/mnt/some-path": {"content": "my content here"}}
    assert main["volumes"] == {"/mnt/vol": {"source": "some-volume"}}
    location = workload.location("containers", "main", "files", "/mnt/some-path", "content")
    assert location is not None and (location.line, location.column) == (13, 7)


def test_route_params_depend_on_the_dns_resource() -> None:
    workload = load_workload_file(EXAMPLES / "score-compose__examples-09-dns-and-route-score.yaml")
    assert workload.resources["route"].depends_on() == {"dns"}
    assert workload.resources["dns"].depends_on() == set()


def test_digest_is_stable_and_tracks_content(tmp_path: Path) -> None:
    path = EXAMPLES / "score-compose__examples-01-hello-score.yaml"
    first, second = load_workload_file(path), load_workload_file(path)
    assert first.digest() == second.digest()
    # Formatting does not matter, content does.
    copy = tmp_path / "score.yaml"
    copy.write_text("# a comment\n" + path.read_text() + "\n\n")
    assert load_workload_file(copy).digest() == first.digest()
    copy.write_text(path.read_text().replace("busybox", "alpine"))
    assert load_workload_file(copy).digest() != first.digest()


def fake_resources(workload: Workload) -> dict[str, RenderedResource]:
    """Outputs for every key the workload references: ``<resource>-<key>``."""
    outputs: dict[str, dict[str, object]] = {name: {} for name in workload.resources}
    for container in workload.containers.values():
        texts = list((container.get("variables") or {}).values())
        texts += [f.get("content", "") for f in (container.get("files") or {}).values()]
        for text in texts:
            for ref in references(text):
                if ref[0] == "resources" and len(ref) >= 3:
                    outputs[ref[1]][ref[2]] = f"{ref[1]}-{ref[2]}"
    for name, request in workload.resources.items():
        if request.type == "volume":
            outputs[name]["source"] = f"vol-{name}"
    return {
        name: RenderedResource(
            uid=request.uid,
            type=request.type,
            resource_class=request.resource_class,
            outputs=outputs[name],
        )
        for name, request in workload.resources.items()
    }


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_example_renders(path: Path, tmp_path: Path) -> None:
    """Rendered next to the files it mounts (as upstream lays them out)."""
    copy = tmp_path / "score.yaml"
    shutil.copy(path, copy)
    workload = load_workload_file(copy)
    missing: list[str] = []
    for container in workload.containers.values():
        for file in (container.get("files") or {}).values():
            if "source" in file:
                asset = EXAMPLES / "assets" / path.name.replace("score.yaml", file["source"])
                if asset.is_file():
                    shutil.copy(asset, tmp_path / file["source"])
                else:
                    missing.append(file["source"])
    resources = fake_resources(workload)
    if missing:
        with pytest.raises(InputError) as caught:
            render_workload(workload, resources)
        for error in errors_of(caught.value):
            assert error.field is not None and error.field.endswith(".source")
            assert "not found" in error.reason
        return
    rendered = render_workload(workload, resources)
    assert set(rendered.containers) == set(workload.containers)
    for cname, container in rendered.containers.items():
        source = workload.containers[cname]
        assert container.args == source.get("args", [])  # args are never expanded
        for key, value in container.variables.items():
            template = source["variables"][key]
            if not references(template):
                assert value == template.replace("$$", "$")
            for ref in references(template):
                if ref[0] == "resources" and len(ref) >= 3:
                    assert f"{ref[1]}-{ref[2]}" in str(value)


def test_example_escapes_render_like_score(tmp_path: Path) -> None:
    workload = load_workload_file(EXAMPLES / "score-compose__examples-02-environment-score.yaml")
    resources = fake_resources(workload)
    rendered = render_workload(workload, resources)
    hello = rendered.containers["hello"]
    assert hello.variables == {
        "GREETING": "Hello",
        "NAME": "env-NAME",
        "WORKLOAD_NAME": "hello-world",
        "ESCAPED": "$_${fizzbuzz}",
    }
    assert hello.args == ["-c", "while true; do echo $${GREETING} $${NAME}!; sleep 5; done"]


def test_mounted_file_is_read_from_the_score_files_directory(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "examples__specification-files-score.yaml", tmp_path / "score.yaml")
    asset = EXAMPLES / "assets" / "examples__specification-files-fileA.txt"
    shutil.copy(asset, tmp_path / "fileA.txt")
    workload = load_workload_file(tmp_path / "score.yaml")
    files = {f.target: f for f in render_workload(workload, {}).containers["my-container"].files}
    assert files["/fileA.txt"].content == asset.read_text()
    assert files["/fileA.txt"].mode == "0644"
    assert files["/fileB.txt"].content == "I am fileB!\n"
    assert files["/fileC.bin"].binary_content == "aGVsbG8gd29ybGQ="
    assert files["/fileC.bin"].content is None
