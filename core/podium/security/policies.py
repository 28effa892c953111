"""Policies every platform has: the ``builtin`` policy pack.

* ``builtin.no-latest-image`` -- an image tagged ``:latest`` (or untagged) is not
  reproducible; mandatory in prod, advisory in staging, silent in dev.
* ``builtin.probes-required`` -- in prod every container needs a readiness or
  liveness probe, or ``podium status`` cannot tell it is healthy (advisory).
* ``builtin.plaintext-secret`` -- a variable whose name says it is secret
  (PASSWORD, SECRET, TOKEN, API_KEY...) holds a literal value instead of a
  placeholder; mandatory in prod, advisory elsewhere.

``[policies]`` in ``podium.toml`` overrides any of these levels (or turns one ``off``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from podium.platform.context import EnvironmentInfo
from podium.security.contract import Finding, Level, PolicyPack

if TYPE_CHECKING:
    from podium.workload.model import Workload

SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)", re.I)
PLACEHOLDER = re.compile(r"\$\{[^}]*\}")


def literal_secret(name: str, value: object) -> bool:
    """A variable whose name says it is secret (PASSWORD, TOKEN, API_KEY...) holding a
    literal value rather than a placeholder: what policies flag and what must be masked
    before a policy engine or a report sees it."""
    if not SECRET_NAME.search(name) or value is None or value == "":
        return False
    # YAML makes ``PASSWORD: 1234`` a number: still a literal secret.
    return not (isinstance(value, str) and PLACEHOLDER.search(value))


def image_is_floating(image: str) -> bool:
    """``True`` for ``name``, ``name:latest``; ``False`` for a tag, a digest or Score's ``.``."""
    if image == "." or "@" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


class BuiltinPolicies(PolicyPack):
    name = "builtin"
    checks = ("no-latest-image", "probes-required", "plaintext-secret")

    def check_workload(self, workload: Workload, env: EnvironmentInfo) -> Iterator[Finding]:
        for cname, container in workload.containers.items():
            subject = f"{workload.name}/{cname}"
            image = str(container.get("image", ""))
            if env.tier != "dev" and image_is_floating(image):
                yield Finding(
                    "builtin.no-latest-image",
                    f"image {image!r} is not pinned to a tag or digest",
                    level="mandatory" if env.tier == "prod" else "advisory",
                    subject=subject,
                    location=_where(workload, "containers", cname, "image"),
                )
            if env.tier == "prod" and not (
                container.get("readinessProbe") or container.get("livenessProbe")
            ):
                yield Finding(
                    "builtin.probes-required",
                    "no readinessProbe or livenessProbe: health cannot be checked",
                    level="advisory",
                    subject=subject,
                    location=_where(workload, "containers", cname),
                )
            for key, value in (container.get("variables") or {}).items():
                if literal_secret(key, value):
                    level: Level = "mandatory" if env.tier == "prod" else "advisory"
                    yield Finding(
                        "builtin.plaintext-secret",
                        f"variable {key} holds a literal value; use a secret resource placeholder",
                        level=level,
                        subject=subject,
                        location=_where(workload, "containers", cname, "variables", key),
                    )


def _where(workload: Workload, *path: str) -> str | None:
    location = workload.location(*path)
    return str(location) if location else None
