"""``[plugins.opa]`` in ``podium.toml``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_dirs: list[str] = Field(
        default_factory=list,
        description="Directories of .rego modules (relative to podium.toml), searched "
        "recursively; files ending in _test.rego hold tests and are not evaluated.",
    )
    library: bool | list[str] = Field(
        default=True,
        description="The shipped policy library: true for all of it, false for none, or "
        "the names of the checks to load (no-latest-image, limits-required, "
        "allowed-registries, owner-annotation, no-privileged).",
    )
    allowed_registries: list[str] = Field(
        default_factory=list,
        description="Image prefixes the allowed-registries check accepts (empty: the "
        "check reports nothing). Given to policies as data.podium_config.",
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="More values for your own policies, under data.podium_config.",
    )
