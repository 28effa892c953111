"""Policy levels from ``podium.toml``: platform-wide ``[policies]`` and per environment.

A key is a policy pack name (``builtin``) or one check (``builtin.no-latest-image``);
its value is ``advisory``, ``mandatory`` or ``off``. ``[environments.<name>.policies]``
holds the levels of one environment: they win over ``[policies]`` there, so a
platform team can relax a check in dev without weakening prod. For a finding the
most specific key decides, environment before platform: the environment's check,
the environment's pack, the platform's check, the platform's pack; with none of
them the level the check chose (which may depend on the tier).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from podium.errors import ConfigError

if TYPE_CHECKING:
    from podium.config.models import PlatformConfig, PolicyLevel
    from podium.errors import Location
    from podium.security.contract import Finding


def levels_for(config: PlatformConfig, env: str) -> list[Mapping[str, PolicyLevel]]:
    """The level tables that apply in ``env``, the one that wins first."""
    section = config.environments.get(env)
    own = section.policies if section is not None else {}
    return [own, config.policies]


def level_of(policy: str, tables: list[Mapping[str, PolicyLevel]]) -> PolicyLevel | None:
    """The configured level of ``policy`` (``pack.check``), or ``None`` when none is set."""
    pack = policy.split(".", 1)[0]
    for table in tables:
        level = table.get(policy) or table.get(pack)
        if level:
            return level
    return None


def apply_levels(findings: list[Finding], config: PlatformConfig, env: str) -> list[Finding]:
    """``findings`` with the configured levels of ``env``; those turned ``off`` dropped."""
    tables = levels_for(config, env)
    out: list[Finding] = []
    for finding in findings:
        level = level_of(finding.policy, tables)
        if level == "off":
            continue
        out.append(replace(finding, level=level) if level else finding)
    return out


def policy_keys(config: PlatformConfig) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every policy key in the config with its path in the file."""
    for key in config.policies:
        yield ("policies", key), key
    for env, section in config.environments.items():
        for key in section.policies:
            yield ("environments", env, "policies", key), key


def unknown_policy_errors(
    config: PlatformConfig,
    packs: Mapping[str, Any],
    locate: Callable[[tuple[str | int, ...]], Location | None] | None,
) -> list[ConfigError]:
    """A located error for each policy key naming a check its (loaded) pack does not have.

    Only packs that declare their ``checks`` are checked, so hook findings and silent
    packs keep any name; a pack name alone is always accepted.
    """
    from podium.config.loader import field_name

    errors: list[ConfigError] = []
    for loc, key in policy_keys(config):
        pack_name, _, check = key.partition(".")
        pack = packs.get(pack_name)
        declared: tuple[str, ...] = tuple(getattr(pack.obj, "checks", ()) or ()) if pack else ()
        if not check or not declared or check in declared:
            continue
        known = [pack_name] + [f"{pack_name}.{name}" for name in declared]
        errors.append(
            ConfigError(
                f"unknown policy {key!r}; known: {', '.join(known)}",
                location=locate(loc) if locate else None,
                field=field_name(loc),
                hint="a key is a policy pack name or <pack>.<check>",
            )
        )
    return errors


__all__ = ["apply_levels", "level_of", "levels_for", "policy_keys", "unknown_policy_errors"]
