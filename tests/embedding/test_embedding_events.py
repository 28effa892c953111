"""Isolation: a subscriber that raises is logged and never aborts a run (issue 12 item 3)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from podium.observability.contract import Event


def test_a_raising_subscriber_is_logged_and_the_run_finishes(
    make_platform: Any, score: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError(f"subscriber bug on {event.kind}")

    platform = make_platform()
    platform.subscribe(broken)
    platform.subscribe(lambda event: seen.append(event.kind))
    with caplog.at_level(logging.WARNING, logger="podium"):
        _, result = platform.up("dev", [score])
    assert result.ok, result.to_dict()
    # Later subscribers still got every event, the failing one included.
    assert "node.succeeded" in seen and seen[-1] == "apply.finished"
    store = platform.store("dev")
    assert store.pending_intents() == []
    assert [h["status"] for h in platform.history("dev")] == ["succeeded"]
    assert store.lock_info() is None
    failures = [r for r in caplog.records if "subscriber" in r.getMessage()]
    assert failures and all(r.name.startswith("podium") for r in failures)
    assert "subscriber bug on apply.finished" in caplog.text
    assert any(r.exc_info for r in failures), "the traceback goes to the log"


def test_a_subscriber_raising_mid_apply_does_not_leave_a_running_entry(
    make_platform: Any, score: Path
) -> None:
    def breaks_on_node_start(event: Event) -> None:
        if event.kind == "node.started":
            raise KeyError("boom")

    platform = make_platform(on_event=breaks_on_node_start)
    _, result = platform.up("dev", [score])
    assert result.ok
    assert platform.store("dev").pending_intents() == []
    assert all(h["status"] != "running" for h in platform.history("dev"))
    # The next plan sees a converged environment.
    assert not platform.plan("dev", [score]).has_changes


def test_every_event_the_engine_emits_has_a_typed_kind(
    make_platform: Any, score: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podium.observability.contract import EventKind

    events: list[Event] = []
    platform = make_platform(on_event=events.append)
    platform.up("dev", [score])
    monkeypatch.setenv("FAKE_DEPLOY_FAIL", "web")
    score.write_text(score.read_text().replace("web:1.0", "web:2.0"))
    platform.up("dev", [score])
    monkeypatch.delenv("FAKE_DEPLOY_FAIL")
    platform.destroy("dev")
    kinds = {e.kind for e in events}
    assert {"plan.started", "node.failed", "destroy.finished"} <= kinds
    assert all(isinstance(e.kind, EventKind) for e in events), kinds - set(EventKind)
    # A kind from a newer core or a plugin stays a plain string, not an error.
    assert Event("plugin.custom", "p").kind == "plugin.custom"
