"""What every generated pipeline does, whatever the CI system.

On a pull (merge) request each environment is validated and planned; the plan is
published as Markdown and the saved plan file uploaded. Planning reads state but never
the state key (:mod:`podium.engine.runtime`: a plan unseals nothing), so request jobs,
which run code anyone may propose, get no key. On a merge the saved plans are applied
in promotion order: the first environment at once, the others each behind the CI
system's environment protection (required reviewers, manual jobs). Applying verifies
each saved plan by recomputing it (:mod:`podium.engine.verify`): a plan edited on the
way, or made stale by another run, is refused, never applied.

The shell commands are shared by the GitHub and GitLab generators, so a test running
them locally exercises what both pipelines run.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium.api import Platform

#: the environment variable every job names its environment in
ENV_VARIABLE = "PODIUM_ENV"
#: the variable holding the state key; only apply jobs get it
KEY_VARIABLE = "PODIUM_STATE_KEY"
_TIER_ORDER = {"dev": 0, "staging": 1, "prod": 2}

VALIDATE = f'podium validate -e "${ENV_VARIABLE}"'
#: plan, save the plan and write its Markdown; a mandatory finding fails the job (exit 5)
PLAN = (
    f'podium plan -e "${ENV_VARIABLE}" --out "plan-${ENV_VARIABLE}.json" '
    f'--format markdown > "plan-${ENV_VARIABLE}.md"'
)
#: apply exactly the reviewed plan; apply verifies it first and refuses an edited one
APPLY = f'podium apply "plan-${ENV_VARIABLE}.json"'
STATUS = f'podium status -e "${ENV_VARIABLE}"'


@dataclass(frozen=True)
class Stage:
    """One environment in promotion order."""

    name: str
    tier: str
    #: applied only after the CI system's approval (every environment but the first)
    gated: bool


@dataclass(frozen=True)
class PipelineSpec:
    """Everything a generator needs, read from the platform once."""

    platform: str
    stages: tuple[Stage, ...]
    #: the platform root relative to the repository root (``.`` when they are the same)
    workdir: str
    #: the shell command installing Podium and the platform's plugins on a CI runner
    install: str
    #: extra CI secrets every job gets as environment variables (state backend credentials)
    secrets: tuple[str, ...] = ()
    default_branch: str = "main"
    python: str = "3.11"
    #: notes for the generated file's header (a local state backend, say)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def environments(self) -> list[str]:
        return [stage.name for stage in self.stages]

    def path(self, name: str) -> str:
        """``name`` inside the platform root, as seen from the repository root."""
        return name if self.workdir == "." else f"{self.workdir}/{name}"


def pipeline_spec(
    platform: Platform,
    *,
    workdir: str | None = None,
    install: str | None = None,
    secrets: tuple[str, ...] = (),
    default_branch: str = "main",
    python: str = "3.11",
) -> PipelineSpec:
    """Read what a pipeline needs from ``platform``: environments, plugins, layout."""
    stages = sorted(
        (platform.environment(name) for name in platform.environments),
        key=lambda env: (
            _TIER_ORDER.get(env.tier, 1),
            platform.environments.index(env.environment),
        ),
    )
    notes: list[str] = []
    if platform.config.state.backend == "sqlite":
        notes.append(
            "state.backend is sqlite: CI runners start empty, so point [state] at a shared "
            "backend (podium-postgres, S3) and pass its credentials with --secret"
        )
    return PipelineSpec(
        platform=platform.name,
        stages=tuple(
            Stage(env.environment, env.tier, gated=index > 0) for index, env in enumerate(stages)
        ),
        workdir=workdir if workdir is not None else repository_path(platform.root),
        install=install if install is not None else install_command(platform),
        secrets=tuple(dict.fromkeys(secrets)),
        default_branch=default_branch,
        python=python,
        notes=tuple(notes),
    )


def install_command(platform: Platform) -> str:
    """``python -m pip install podium==X podium-local==Y``: what runs the platform here, pinned.

    CI then runs the same versions the platform team reviewed; ``podium.lock`` (when
    the platform has one) still guards what loads.
    """
    from podium.version import __version__

    pins = {"podium": __version__}
    for info in platform.plugins.plugins:
        if (
            info.source == "entry-point"
            and info.status == "loaded"
            and info.distribution
            and info.version
        ):
            pins.setdefault(info.distribution, info.version)
    return "python -m pip install " + " ".join(
        shlex.quote(f"{name}=={version}") for name, version in sorted(pins.items())
    )


def repository_path(root: Path) -> str:
    """``root`` relative to the enclosing git repository (``.`` when it is the top)."""
    root = Path(os.path.abspath(root))
    for candidate in (root, *root.parents):
        if (candidate / ".git").exists():
            relative = root.relative_to(candidate).as_posix()
            return relative or "."
    return "."
