"""Which local image runs a Score container: the environment's image map, or a build.

No registry is reachable here, so nothing is pulled: a Score image is mapped to a
local image in ``[environments.<env>.settings.podman] images``, used as written when
it exists locally, and ``image: .`` builds the workload's directory (its
``Containerfile`` or ``Dockerfile``; bases come from local images) into a tag named
after the context's content, so an unchanged directory is not built again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from podium.plugin import RenderedWorkload, ResourceError
from podium_podman.client import Podman
from podium_podman.settings import EnvironmentOptions

BUILD_FILES = ("Containerfile", "Dockerfile")
#: Directories never part of a build context's digest (Podium's and tools' own).
SKIPPED = {".podium", ".git", "__pycache__", ".tox", ".venv"}


def context_digest(context: Path) -> str:
    """A digest of every file's relative path, mode and content under ``context``."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(context):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED)
        for name in sorted(files):
            path = Path(root, name)
            if path.is_symlink() or not path.is_file():
                continue
            digest.update(str(path.relative_to(context)).encode() + b"\0")
            digest.update(f"{path.stat().st_mode & 0o777:o}".encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build_file(context: Path) -> str | None:
    return next((name for name in BUILD_FILES if (context / name).is_file()), None)


def resolve_image(
    podman: Podman,
    workload: RenderedWorkload,
    container: str,
    options: EnvironmentOptions,
    environment: str,
) -> str:
    """The local image reference to run ``container`` with (building it when asked)."""
    image = workload.containers[container].image
    where = f"{workload.name}.containers.{container}.image"
    if image == ".":
        return _build(podman, workload, container, where)
    local = options.images.get(image, image)
    if podman.image(local) is None:
        mapped = f" (mapped from {image!r})" if local != image else ""
        raise ResourceError(
            f"{where}: image {local!r}{mapped} is not present locally and nothing is pulled",
            hint=f"build or import it (podman import/build), or map {image!r} to a local "
            f"image in [environments.{environment}.settings.podman.images]",
        )
    return local


def _build(podman: Podman, workload: RenderedWorkload, container: str, where: str) -> str:
    source = workload.extensions.get("podium.source_dir")
    if not source:
        raise ResourceError(f"{where}: 'image: .' needs the workload's directory to build")
    context = Path(str(source))
    dockerfile = build_file(context)
    if dockerfile is None:
        raise ResourceError(
            f"{where}: 'image: .' builds {context}, which has no Containerfile or Dockerfile"
        )
    slug = "".join(c if c.isalnum() else "-" for c in f"{workload.name}-{container}".lower())
    tag = f"localhost/podium-build/{slug}:{context_digest(context)[:16]}"
    if podman.image(tag) is None:
        podman.build(str(context), dockerfile, tag)
    return tag
