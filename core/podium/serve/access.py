"""Who may do what through the API, and the record of each decision in history.

* Every authenticated identity may read: environments, workloads, plans, runs, history.
* ``developer`` and ``admin`` may plan; a plan is made for the caller's team, so the
  engine's ownership checks (:mod:`podium.engine.ownership`) refuse what another team
  owns.
* Changes (apply, destroy, rollback) follow ``[access.<environment>]``: a role in
  ``apply`` may; a role in ``with_approval`` may once an identity other than the caller,
  with a role in ``approvers``, approved the same plan. Without a section,
  ``developer`` and ``admin`` may apply.
* Logs and rollback of a workload are for its owner team (and ``admin``); secret output
  values need the ``reveal-secrets`` permission as well.

A denial raises :class:`AccessDenied` (HTTP 403) with the reason. Every decision on a
change, an approval or a secret, allowed or denied, and every denial, is recorded in
the environment's history (kind ``access``, or ``blocked`` with reason ``access``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podium.config.models import AccessRule

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.serve.identity import Identity

CHANGES = ("apply", "destroy", "rollback")


class AccessDenied(Exception):
    """The caller may not do this (HTTP 403); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Decision:
    action: str
    allowed: bool
    reason: str


def rule_for(platform: Platform, env: str) -> AccessRule:
    return platform.config.access.get(env) or AccessRule()


def decide_change(
    platform: Platform,
    who: Identity,
    action: str,
    env: str,
    approvals: Sequence[dict[str, str]] = (),
) -> Decision:
    """May ``who`` ``action`` (one of :data:`CHANGES`) in ``env``; ``approvals`` are those
    of the plan being applied."""
    rule = rule_for(platform, env)
    if who.role in rule.apply:
        return Decision(action, True, f"role {who.role} may {action} in {env}")
    if who.role in rule.with_approval:
        others = [a for a in approvals if a["who"] != who.subject and a["role"] in rule.approvers]
        if others:
            return Decision(
                action,
                True,
                f"role {who.role} may {action} in {env} with an approval; approved by "
                + ", ".join(a["who"] for a in others),
            )
        return Decision(
            action,
            False,
            f"role {who.role} may {action} in {env} only once another identity with role "
            f"{' or '.join(rule.approvers)} approved the plan (POST /api/v1/plans/ID/approvals)",
        )
    allowed: list[str] = sorted({*rule.apply, *rule.with_approval}) or ["nobody"]
    return Decision(
        action,
        False,
        f"role {who.role} may not {action} in {env} (allowed: {', '.join(allowed)}; "
        f"[access.{env}] of podium.toml)",
    )


def decide_approval(platform: Platform, who: Identity, env: str, author: str) -> Decision:
    rule = rule_for(platform, env)
    if who.role not in rule.approvers:
        return Decision(
            "approve",
            False,
            f"role {who.role} may not approve plans for {env} (approvers: "
            f"{', '.join(rule.approvers) or 'nobody'})",
        )
    if who.subject == author:
        return Decision("approve", False, "the plan's author cannot approve it (four eyes)")
    return Decision("approve", True, f"role {who.role} may approve plans for {env}")


def decide_role(who: Identity, action: str, role: str) -> Decision:
    if who.at_least(role):
        return Decision(action, True, f"role {who.role} may {action}")
    return Decision(action, False, f"role {who.role} may not {action} (needs {role} or above)")


def decide_owner(who: Identity, action: str, owner: str | None, subject: str) -> Decision:
    if who.role == "admin" or owner == who.team:
        return Decision(action, True, f"team {who.team} may {action} {subject}")
    return Decision(
        action,
        False,
        f"{subject} is owned by {owner or 'no team'}, not {who.team}; only its owner team "
        "or an admin may " + action + " it",
    )


def decide_reveal(who: Identity) -> Decision:
    if who.may("reveal-secrets"):
        return Decision("reveal", True, "the identity holds the reveal-secrets permission")
    return Decision(
        "reveal",
        False,
        "secret values need the reveal-secrets permission "
        "(podium tokens create --permission reveal-secrets)",
    )


def enforce(
    platform: Platform,
    env: str,
    who: Identity,
    decision: Decision,
    *,
    subject: str = "",
    record_allowed: bool = True,
) -> None:
    """Record ``decision`` in ``env``'s history (allowed ones only if ``record_allowed``)
    and raise :class:`AccessDenied` when it denies."""
    if decision.allowed and not record_allowed:
        return
    from podium.engine.audit import record_in

    entry = {
        "kind": "access",
        "summary": f"{decision.action} {subject}: {decision.reason}".replace("  ", " "),
        "decision": "allow" if decision.allowed else "deny",
        "team": who.team,
        "role": who.role,
    }
    if not decision.allowed:
        entry |= {"status": "blocked", "reason": "access", "message": decision.reason}
    with platform.acting_as(who.subject):
        record_in(platform, [env], f"serve {decision.action}", **entry)
    if not decision.allowed:
        raise AccessDenied(decision.reason)
