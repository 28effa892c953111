"""Which template, and which version of it, a service or a deployed workload came from.

A generated service keeps copier's answers file (``.copier-answers.yml``): the
template's URL (``_src_path``, see :func:`~.repository.template_url`) and the version
it was last generated or updated from (``_commit``, the version's tag). The templates
Podium ships also write both into the Score file as annotations, so the version
travels with the workload into the platform's state and ``podium status`` shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium.errors import InputError
from podium.golden_paths.repository import template_name

ANSWERS_FILE = ".copier-answers.yml"
#: Score ``metadata.annotations`` a template writes (its name, and its version)
TEMPLATE_ANNOTATION = "podium.dev/template"
VERSION_ANNOTATION = "podium.dev/template-version"


@dataclass(frozen=True)
class TemplateRef:
    """A template by name and version, as a service records it."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def read_answers(directory: Path) -> tuple[TemplateRef, dict[str, Any]]:
    """The template a generated service records, and its answers (an InputError if none)."""
    import yaml

    path = directory / ANSWERS_FILE
    if not path.is_file():
        raise InputError(
            f"{directory} was not generated from a workload template (no {ANSWERS_FILE})",
            hint="podium new --list shows the templates; podium new TEMPLATE DIR creates one",
        )
    try:
        answers = yaml.safe_load(path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(answers, dict):
        raise InputError(f"{path}: expected a mapping of answers")
    name = template_name(str(answers.get("_src_path", "")))
    version = answers.get("_commit")
    if name is None or not isinstance(version, str):
        raise InputError(
            f"{path}: not a Podium workload template's answers "
            f"(_src_path {answers.get('_src_path')!r}, _commit {version!r})",
            hint="a service from another copier template is updated with copier itself",
        )
    return TemplateRef(name, version), answers


def from_annotations(annotations: Mapping[str, Any]) -> TemplateRef | None:
    """The template a workload's annotations name, if both of them are there."""
    name, version = annotations.get(TEMPLATE_ANNOTATION), annotations.get(VERSION_ANNOTATION)
    if isinstance(name, str) and name and isinstance(version, str) and version:
        return TemplateRef(name, version)
    return None


def from_attributes(attributes: Mapping[str, Any] | None) -> TemplateRef | None:
    """The template of a deployed workload, from its record's flat attributes."""
    if not attributes:
        return None
    prefix = "metadata.annotations."
    return from_annotations(
        {key[len(prefix) :]: value for key, value in attributes.items() if key.startswith(prefix)}
    )
