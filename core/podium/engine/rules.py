"""Match a resource request to the platform rule that fulfils it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from podium.config.models import RuleSection
from podium.errors import NoMatchingRuleError


@dataclass(frozen=True)
class RuleMatch:
    rule: RuleSection
    index: int


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
        if best is None or _specificity(rule) > _specificity(best.rule):
            best = RuleMatch(rule, index)
    if best is not None:
        return best
    candidates = [_describe(r, i) for i, r in enumerate(rules) if r.type == resource_type]
    listing = "\n    ".join(candidates) if candidates else "(no rule has this type)"
    raise NoMatchingRuleError(
        f"no rule provisions {uid} (type={resource_type}, class={resource_class}, "
        f"id={resource_id}, environment={environment}); rules for this type:\n    {listing}",
        hint=f'add a [[rules]] entry with type = "{resource_type}" and a provisioner '
        "(podium plugins list shows the provisioners installed)",
    )
