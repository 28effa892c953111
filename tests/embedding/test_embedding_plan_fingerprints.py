"""A plan's staleness fingerprints are taken when first asked for, from the records it read.

Planning is what developers do most, and most plans are only looked at: digesting every
record a plan relies on cost a tenth of a second per 10,000 nodes. The fingerprints must
still be those of state as the plan read it, however late they are taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podium.engine import staleness
from podium.errors import StalePlanError


def counting_fingerprints(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Patch :func:`staleness.record_fingerprint` to note the uid of every record it digests."""
    taken: list[str] = []
    real = staleness.record_fingerprint

    def record_fingerprint(record: Any) -> str:
        taken.append(record.uid)
        return real(record)

    monkeypatch.setattr(staleness, "record_fingerprint", record_fingerprint)
    return taken


def test_planning_digests_no_record_until_the_plan_is_saved(
    make_platform: Any, score: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform()
    platform.up("dev", [score])
    score.write_text(score.read_text().replace("web:1.0", "web:1.1"))
    taken = counting_fingerprints(monkeypatch)

    plan = platform.plan("dev", [score])
    assert plan.has_changes and plan.fingerprints is not None
    assert taken == []

    saved = plan.to_dict()["fingerprints"]
    assert sorted(taken) == sorted(saved) == ["deployment:web", "volume.default#web.data"]
    expected = staleness.node_fingerprints(platform.store("dev").records(), plan.changes)
    assert saved == expected and all(len(value) == 32 for value in saved.values())
    plan.to_dict()
    assert len(taken) == 4  # the two above, and node_fingerprints: taken once per plan


def test_a_plan_whose_nodes_changed_before_its_fingerprints_were_taken_is_stale(
    make_platform: Any, score: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = make_platform()
    platform.up("dev", [score])
    reviewed = score.read_text().replace("web:1.0", "web:1.1")
    score.write_text(reviewed)
    taken = counting_fingerprints(monkeypatch)
    plan = platform.plan("dev", [score])
    assert taken == []  # nothing digested for the plan

    # another run deploys another version of web before this plan is applied
    score.write_text(reviewed.replace("web:1.1", "web:1.2"))
    assert platform.up("dev", [score])[1].ok
    store = platform.store("dev")
    before = {record.uid: record for record in store.records()}

    with pytest.raises(StalePlanError, match="deployment:web"):
        platform.apply(plan)
    assert {record.uid: record for record in store.records()} == before  # nothing applied
