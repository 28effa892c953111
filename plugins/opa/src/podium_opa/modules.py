"""Rego modules on disk: which checks they define, which tests they hold.

A check is a package ``podium.<name>`` (``podium.no_latest_image`` is the check
``opa.no-latest-image``) with any of the rules below; other packages (``podium_lib.*``,
say) are helpers the checks import. Files ending in ``_test.rego`` hold tests (``test_*`` rules, run by
``podium policy test``) and are never evaluated on workloads or plans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from podium.plugin import ConfigError

#: What a check may define, per input document: workloads, plans, rendered objects.
RULES = ("deny", "warn", "deny_plan", "warn_plan", "deny_rendered", "warn_rendered")
_CHECK_PACKAGE = re.compile(r"^podium\.([a-z][a-z0-9_]*)$")
LIBRARY = Path(__file__).parent / "library"

_PACKAGE = re.compile(r"^package\s+([A-Za-z_][\w.]*)\s*$", re.MULTILINE)
_RULE_HEAD = re.compile(r"^(" + "|".join(RULES) + r")\b", re.MULTILINE)
_TEST_HEAD = re.compile(r"^(test_\w+)\b", re.MULTILINE)


@dataclass(frozen=True)
class RegoModule:
    path: Path
    text: str
    package: str
    rules: tuple[str, ...] = ()  #: the check rules it defines (``deny``, ``warn_plan``...)
    tests: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_test(self) -> bool:
        return self.path.name.endswith("_test.rego")

    @property
    def check(self) -> str | None:
        """The check's name in Podium (``no-latest-image``), or ``None`` for a helper."""
        found = _CHECK_PACKAGE.match(self.package)
        if found is None or self.is_test:
            return None
        return found.group(1).replace("_", "-")


def read_module(path: Path) -> RegoModule:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read Rego module {path}: {exc}") from exc
    found = _PACKAGE.search(text)
    if found is None:
        raise ConfigError(f"{path}:1: a Rego module starts with a package declaration")
    return RegoModule(
        path=path,
        text=text,
        package=found.group(1),
        rules=tuple(dict.fromkeys(_RULE_HEAD.findall(text))),
        tests=tuple(dict.fromkeys(_TEST_HEAD.findall(text))),
    )


def discover(directory: Path) -> list[RegoModule]:
    """Every ``.rego`` file under ``directory``, in a stable order."""
    if not directory.is_dir():
        raise ConfigError(
            f"policy directory {directory} does not exist",
            hint="fix [plugins.opa] policy_dirs (paths are relative to podium.toml)",
        )
    return [read_module(path) for path in sorted(directory.rglob("*.rego"))]


def library(selected: bool | list[str]) -> list[RegoModule]:
    """The shipped library's checks (``True``: all), with their tests when asked."""
    if selected is False:
        return []
    modules = discover(LIBRARY)
    checks = {m.check for m in modules if m.check}
    if selected is True:
        return modules
    unknown = sorted(set(selected) - checks)
    if unknown:
        raise ConfigError(
            f"[plugins.opa] library names unknown check(s) {', '.join(unknown)}",
            hint=f"the library has {', '.join(sorted(checks))}",
        )
    wanted = set(selected)
    return [m for m in modules if m.check in wanted or (m.check is None and not m.is_test)]


def checks_of(modules: list[RegoModule]) -> dict[str, RegoModule]:
    """Check name → module; a check defined twice is an error naming both files."""
    found: dict[str, RegoModule] = {}
    for module in modules:
        name = module.check
        if name is None:
            continue
        if name in found:
            raise ConfigError(
                f"check {name!r} (package {module.package}) is defined in both "
                f"{found[name].path} and {module.path}",
                hint="rename one package, or leave the library's out with "
                "[plugins.opa] library = [...]",
            )
        found[name] = module
    return found
