"""``[plugins] allow`` and ``deny``: which installed plugins may be imported, and pins."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podium.errors import ConfigError
from podium.plugins.discovery import canonical_name as _key

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

#: an entry that is only a name (PEP 508's name rule): no pin, nothing for packaging to parse
_BARE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    status: str  #: "allowed", "not-allowed" or "disabled" (denied)
    reason: str = ""
    pin: SpecifierSet | None = None


class Allowlist:
    """Parsed ``allow``/``deny`` lists; ``allow=None`` allows every plugin not denied."""

    def __init__(self, allow: Iterable[str] | None, deny: Iterable[str] = ()) -> None:
        self._allow: dict[str, SpecifierSet | None] | None = None
        if allow is not None:
            self._allow = {}
            for index, entry in enumerate(allow):
                name, pin = _parse(entry, f"plugins.allow[{index}]")
                self._allow[_key(name)] = pin
        self._deny = {_key(name) for name in deny}

    @property
    def restricted(self) -> bool:
        return self._allow is not None

    def required(self) -> list[str]:
        """The plugins ``allow`` names and ``deny`` does not (canonical names, sorted)."""
        return sorted(set(self._allow or ()) - self._deny)

    def check(self, name: str) -> Verdict:
        """May the plugin called ``name`` load? Pins are checked by :meth:`check_version`."""
        key = _key(name)
        if key in self._deny:
            return Verdict(False, "disabled", "denied by [plugins] deny")
        if self._allow is None:
            return Verdict(True, "allowed")
        if key not in self._allow:
            return Verdict(False, "not-allowed", "not listed in [plugins] allow")
        pin = self._allow[key]
        return Verdict(True, "allowed", pin=pin if pin is not None and str(pin) else None)

    @staticmethod
    def check_version(pin: SpecifierSet | None, version: str | None) -> str | None:
        """Why ``version`` fails ``pin``, or ``None`` when it satisfies it."""
        if pin is None:
            return None
        from packaging.version import InvalidVersion, Version

        if version is None:
            return f"is pinned to {pin} but has no version"
        try:
            parsed = Version(version)
        except InvalidVersion:
            return f"version {version!r} is not a valid version to check against pin {pin}"
        if not pin.contains(parsed, prereleases=True):
            return f"version {version} does not satisfy the pin {pin} in [plugins] allow"
        return None


def _parse(entry: str, field: str) -> tuple[str, SpecifierSet | None]:
    if _BARE_NAME.fullmatch(entry):
        return entry, None  # the common case, without importing packaging's parser
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(entry)
    except InvalidRequirement as exc:
        raise ConfigError(
            f"{entry!r} is not a plugin name with an optional version pin ({exc})",
            field=field,
            hint='write entries like "local" or "aws>=0.1,<0.2"',
        ) from None
    if requirement.extras or requirement.url or requirement.marker:
        raise ConfigError(f"{entry!r}: only a name and a version pin are allowed here", field=field)
    return requirement.name, requirement.specifier
