"""The ``builtin-local`` policy pack: three checks every platform wants from day one.

* ``builtin-local.no-latest-image``: images tagged ``:latest`` or not tagged at all
  change under your feet; flagged outside ``dev``-tier environments.
* ``builtin-local.probes-required``: in ``prod``-tier environments every container
  declares a readiness and a liveness probe.
* ``builtin-local.no-plaintext-secrets``: a variable named like a credential
  (PASSWORD, SECRET, TOKEN, ...KEY) holds a literal instead of a placeholder
  such as ``${resources.db.password}``.

All findings are advisory by default; ``[policies]`` in ``podium.toml`` makes
any of them ``mandatory`` or turns it ``off``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from podium.platform.context import EnvironmentInfo
from podium.security.contract import Finding, PolicyPack

if TYPE_CHECKING:
    from podium.workload.model import Workload

PACK = "builtin-local"
CREDENTIAL_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|_KEY$|^KEY$)", re.I
)
PLACEHOLDER = re.compile(r"\$\{[^}]+\}")


def image_is_floating(image: str) -> bool:
    """``:latest`` or no tag (and no digest); ``.`` means "the tool supplies it" and is fine."""
    if image == "." or "@" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return True
    return last.rsplit(":", 1)[1] == "latest"


def _where(workload: Workload, *path: str) -> str | None:
    location = workload.location(*path)
    return str(location) if location else None


class BuiltinLocalPolicies(PolicyPack):
    name: ClassVar[str] = PACK

    def check_workload(self, workload: Workload, env: EnvironmentInfo) -> Iterable[Finding]:
        return list(self._findings(workload, env))

    def _findings(self, workload: Workload, env: EnvironmentInfo) -> Iterator[Finding]:
        tier = getattr(env, "tier", "dev")
        for name, container in workload.containers.items():
            subject = f"{workload.name}.{name}"
            image = str(container.get("image", ""))
            if tier != "dev" and image_is_floating(image):
                yield Finding(
                    f"{PACK}.no-latest-image",
                    f"container {name} uses image {image!r}: pin a version tag or digest "
                    f"in {tier} environments",
                    subject=subject,
                    location=_where(workload, "containers", name, "image"),
                )
            if tier == "prod":
                for key, label in (("readinessProbe", "readiness"), ("livenessProbe", "liveness")):
                    if not container.get(key):
                        yield Finding(
                            f"{PACK}.probes-required",
                            f"container {name} has no {label} probe; prod requires both",
                            subject=subject,
                            location=_where(workload, "containers", name),
                        )
            variables: dict[str, Any] = container.get("variables") or {}
            for key, value in variables.items():
                if (
                    CREDENTIAL_NAME.search(key)
                    and isinstance(value, str)
                    and value.strip()
                    and not PLACEHOLDER.search(value)
                ):
                    yield Finding(
                        f"{PACK}.no-plaintext-secrets",
                        f"variable {key} of container {name} holds a literal value; reference a "
                        "secret instead, e.g. ${resources.<secret>.value}",
                        subject=subject,
                        location=_where(workload, "containers", name, "variables", key),
                    )
