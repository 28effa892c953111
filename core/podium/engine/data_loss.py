"""The data-loss guard: which planned changes destroy data, and when that blocks apply.

A provisioner declares ``holds_data`` (see :mod:`podium.provisioning.schema`). A plan
that deletes or replaces a resource of such a provisioner labels the change
``data_loss``. In a protected environment (``protect_data``, by default the prod tier)
each such change is a mandatory ``podium.data-loss`` finding: apply refuses it unless
the operator consents with ``--allow-data-loss`` (``allow_data_loss=True``), and history
records that consent.

A resource's uid carries its class (``postgres.default#payments-db``), so changing the
class plans a create of the new uid and a delete of the old one. Such a pair is linked
(``replaces`` / ``replaced_by``) and shown as one replace. The matching rule: the same
resource type and the same Score identity, that is the same ``id`` for a shared
resource, else the same workload and resource name; only the class differs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from podium.security.contract import Finding

if TYPE_CHECKING:
    from podium.config.models import EnvironmentSection
    from podium.engine.plan import Change

POLICY = "podium.data-loss"
DESTRUCTIVE = ("delete", "replace")


def protects_data(section: EnvironmentSection, tier: str) -> bool:
    """Whether the environment refuses data loss without consent (default: prod tier)."""
    return section.protect_data if section.protect_data is not None else tier == "prod"


def label_changes(changes: Sequence[Change], holds_data: Callable[[str], bool]) -> None:
    """Pair class changes, then set ``data_loss`` on changes that destroy a data store.

    ``holds_data(provisioner_name)`` answers from the provisioner's schema; it must answer
    True for a provisioner it cannot find (fail closed).
    """
    # One walk over the plan, then only the few changes that create or destroy: a plan of
    # thousands of no-op nodes is not walked again (each walk reads every change's fields
    # from memory the caches no longer hold).
    creates: list[Change] = []
    destroys: list[Change] = []
    for change in changes:
        if change.kind == "resource":
            if change.action == "create":
                creates.append(change)
            elif change.action in DESTRUCTIVE:
                destroys.append(change)
    paired = pair_class_changes(creates, destroys)
    for change in destroys:
        change.data_loss = holds_data(change.provider)
    for create, delete in paired:  # the create half of a class change carries its label
        create.data_loss = delete.data_loss


def pair_class_changes(
    creates: Sequence[Change], destroys: Sequence[Change]
) -> list[tuple[Change, Change]]:
    """Link each create of a resource with the delete of the same resource in another class
    (``destroys`` may hold replaces too; they are not paired)."""
    if not creates or not destroys:
        return []
    by_identity = {_identity(c.spec): c for c in creates if c.before is None}
    paired: list[tuple[Change, Change]] = []
    for delete in destroys:
        if delete.action != "delete" or not delete.before:
            continue
        create = by_identity.get(_identity(delete.before))
        if create is None or create.replaces is not None:
            continue
        old, new = delete.before.get("class"), create.spec.get("class")
        paired.append((create, delete))
        create.replaces, delete.replaced_by = delete.uid, create.uid
        create.reason = f"class changes from {old} to {new}"
        delete.reason = f"replaced by {create.uid}: class changes from {old} to {new}"
    return paired


def findings(changes: Sequence[Change], protected: bool) -> list[Finding]:
    """One mandatory finding per data-loss change in a protected environment."""
    if not protected:
        return []
    found: list[Finding] = []
    for change in changes:
        if not change.data_loss or change.replaces is not None:  # one finding per pair
            continue
        what = "replaces" if change.action == "replace" or change.replaced_by else "deletes"
        found.append(
            Finding(
                policy=POLICY,
                level="mandatory",
                subject=change.uid,
                message=f"this plan {what} a resource that holds data; its data is lost "
                "(give --allow-data-loss to proceed)",
            )
        )
    return found


def data_loss_uids(changes: Sequence[Change]) -> list[str]:
    """The uids a plan destroys data of (what history records when the loss is allowed)."""
    return [c.uid for c in changes if c.data_loss and c.replaces is None]


def _identity(spec: dict[str, object]) -> tuple[object, ...]:
    """A resource's Score identity without its class: type, then id or workload and name."""
    if spec.get("id") is not None:
        return (spec.get("type"), "id", spec.get("id"))
    return (spec.get("type"), "name", spec.get("workload"), spec.get("name"))
