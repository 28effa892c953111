"""Match a resource request to the platform rule that fulfils it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from podium.config.models import RuleSection
from podium.errors import Location, NoMatchingRuleError

Locate = Callable[[tuple[str | int, ...]], Location | None]


@dataclass(frozen=True)
class RuleMatch:
    rule: RuleSection
    index: int
    #: every rule that matched the request, the winner included, by index
    matched: tuple[tuple[int, RuleSection], ...] = ()

    def explain(self, locate: Locate | None = None) -> dict[str, Any]:
        """Which rule won and why, for ``podium plan -v`` and ``--json`` (JSON-ready).

        ``criteria`` are the fields the rule sets (what it matched on), ``specificity``
        how many of class, id and environment it sets, ``outranked`` the other rules
        that matched too (by index), and ``why`` says it in words.
        """
        location = locate(("rules", self.index)) if locate is not None else None
        return {
            "index": self.index,
            "file": location.path if location is not None else None,
            "line": location.line if location is not None else None,
            "provisioner": self.rule.provisioner,
            "criteria": _criteria(self.rule),
            "specificity": _specificity(self.rule),
            "outranked": [index for index, _ in self.matched if index != self.index],
            "why": self._why(),
        }

    def _why(self) -> str:
        others = [(i, rule) for i, rule in self.matched if i != self.index]
        if not others:
            return "the only rule that matches"
        mine = _specificity(self.rule)
        of = f"of {len(self.matched)} matching rules"
        ties = [i for i, rule in others if _specificity(rule) == mine]
        if ties:
            tied = ", ".join(f"rules[{i}]" for i in ties)
            return (
                f"it and {tied} are the most specific {of} (they match on "
                f"{_matches_on(self.rule)}): the first in the file wins"
            )
        runner_up, rule = max(others, key=lambda item: (_specificity(item[1]), -item[0]))
        return (
            f"the most specific {of}: it matches on {_matches_on(self.rule)}, the next "
            f"best (rules[{runner_up}]) on {_matches_on(rule)}"
        )


def _criteria(rule: RuleSection) -> dict[str, Any]:
    """The fields a rule matches on, as written (``class``, not the Python name)."""
    found: dict[str, Any] = {"type": rule.type}
    if rule.resource_class is not None:
        found["class"] = rule.resource_class
    if rule.id is not None:
        found["id"] = rule.id
    if rule.environment is not None:
        found["environment"] = rule.environment
    return found


def _matches_on(rule: RuleSection) -> str:
    names = list(_criteria(rule))
    if len(names) == 1:
        return "the type alone"
    return ", ".join(names[:-1]) + " and " + names[-1]


def _specificity(rule: RuleSection) -> int:
    return sum(x is not None for x in (rule.resource_class, rule.id, rule.environment))


def _describe(rule: RuleSection, index: int) -> str:
    parts = [f"type={rule.type}"]
    if rule.resource_class is not None:
        parts.append(f"class={rule.resource_class}")
    if rule.id is not None:
        parts.append(f"id={rule.id}")
    if rule.environment is not None:
        parts.append(f"environment={rule.environment}")
    return f"rules[{index}] ({', '.join(parts)}) -> {rule.provisioner}"


def match_rule(
    rules: Sequence[RuleSection],
    *,
    resource_type: str,
    resource_class: str,
    resource_id: str | None,
    environment: str,
    uid: str,
) -> RuleMatch:
    """The most specific matching rule; the first of equally specific ones wins."""
    best: RuleMatch | None = None
    matched: list[tuple[int, RuleSection]] = []
    for index, rule in enumerate(rules):
        if rule.type != resource_type:
            continue
        if rule.resource_class is not None and rule.resource_class != resource_class:
            continue
        if rule.id is not None and rule.id != resource_id:
            continue
        envs = rule.environments()
        if envs is not None and environment not in envs:
            continue
        matched.append((index, rule))
        if best is None or _specificity(rule) > _specificity(best.rule):
            best = RuleMatch(rule, index)
    if best is not None:
        return RuleMatch(best.rule, best.index, tuple(matched))
    candidates = [_describe(r, i) for i, r in enumerate(rules) if r.type == resource_type]
    listing = "\n    ".join(candidates) if candidates else "(no rule has this type)"
    raise NoMatchingRuleError(
        f"no rule provisions {uid} (type={resource_type}, class={resource_class}, "
        f"id={resource_id}, environment={environment}); rules for this type:\n    {listing}",
        hint=f'add a [[rules]] entry with type = "{resource_type}" and a provisioner '
        "(podium plugins list shows the provisioners installed)",
    )
