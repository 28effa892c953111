"""No process globals: logging, atexit, warnings, the garbage collector, the environment.

Issue 12 item 4. A host embedding Podium keeps its stdout, its exit hooks, its warnings
filters and its collector; every variable the core reads comes from ``environ=``.
"""

from __future__ import annotations

import atexit
import gc
import json
import logging
import subprocess
import sys
import textwrap
import threading
import warnings
import weakref
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from embedding_project import ENGINE_TESTS

from podium import hookimpl
from podium.observability.telemetry import read_spans


class BrokenEventHook:
    """A plugin whose podium_event raises: the platform logs a warning and goes on."""

    PODIUM_API = ">=1.0,<2"

    @hookimpl
    def podium_event(self, event: Any) -> None:
        raise RuntimeError("event hook bug")


class GcWatcher:
    """A plugin that asks another thread, during plan, whether the collector is on."""

    PODIUM_API = ">=1.0,<2"

    def __init__(self) -> None:
        self.seen: list[bool] = []

    @hookimpl
    def podium_validate_workload(self, workload: Any, env: Any) -> list[Any]:
        thread = threading.Thread(target=lambda: self.seen.append(gc.isenabled()))
        thread.start()
        thread.join()
        return []


def test_library_warnings_go_to_stdlib_logging_not_stdout(
    make_platform: Any,
    score: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    platform = make_platform(plugins=(("broken", BrokenEventHook()),))
    with caplog.at_level(logging.WARNING, logger="podium"):
        platform.plan("dev", [score])
    out = capsys.readouterr().out
    assert "event hook" not in out, out
    records = [r for r in caplog.records if "event hook failed" in r.getMessage()]
    assert records and records[0].name == "podium.events"
    assert "event hook bug" in records[0].getMessage()
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("podium").handlers)


def test_a_fresh_process_keeps_its_stdout_structlog_warnings_and_exit_hooks(
    tmp_path: Path,
) -> None:
    """In a clean interpreter: nothing printed, nothing configured, nothing registered."""
    report = tmp_path / "report.json"
    script = textwrap.dedent(
        f"""
        import atexit, json, logging, sys, warnings
        sys.path[:0] = [{str(ENGINE_TESTS)!r}, {str(Path(__file__).parent)!r}]
        import fake_platform, structlog
        from test_embedding_globals import BrokenEventHook
        from embedding_project import config, SCORE
        from podium.api import Platform

        filters, callbacks = list(warnings.filters), atexit._ncallbacks()
        open("web.score.yaml", "w").write(SCORE)
        for n in range(3):
            with Platform(config(f"p{{n}}", jsonl=True), root=".", load_entrypoints=False,
                          plugins=[("fake", fake_platform), ("broken", BrokenEventHook())]) as p:
                p.up("dev", ["web.score.yaml"])
        json.dump({{
            "structlog_configured": structlog.is_configured(),
            "root_handlers": len(logging.getLogger().handlers),
            "filters_same": list(warnings.filters) == filters,
            "atexit_added": atexit._ncallbacks() - callbacks,
        }}, open({str(report)!r}, "w"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "event hook failed" not in result.stderr  # no handler: Python prints nothing either
    assert json.loads(report.read_text()) == {
        "structlog_configured": False,
        "root_handlers": 0,
        "filters_same": True,
        "atexit_added": 0,
    }


def test_ten_telemetry_platforms_add_no_atexit_callbacks(make_platform: Any, score: Path) -> None:
    before = atexit._ncallbacks()
    platforms = [make_platform(name=f"p{n}", telemetry={"jsonl": True}) for n in range(10)]
    for platform in platforms:
        assert platform.tracer_provider is not None
    assert atexit._ncallbacks() == before
    platforms[0].up("dev", [score])
    platforms[0].close()  # close() flushes: the spans are on disk now
    names = {s["name"] for s in read_spans(platforms[0].state_root / "spans.jsonl")}
    assert "podium.apply" in names


def test_plan_leaves_the_garbage_collector_alone(make_platform: Any, score: Path) -> None:
    watcher = GcWatcher()
    platform = make_platform(plugins=(("watch", watcher),))
    assert gc.isenabled()
    platform.plan("dev", [score])
    assert watcher.seen == [True]


def test_pausing_the_collector_is_the_embedders_choice(make_platform: Any, score: Path) -> None:
    watcher = GcWatcher()
    platform = make_platform(plugins=(("watch", watcher),), pause_gc=True)
    platform.plan("dev", [score])
    assert watcher.seen == [False]
    assert gc.isenabled()  # switched back on after the plan


def test_the_pause_covers_loading_the_score_files(
    make_platform: Any, score: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podium.workload import loader

    seen: list[bool] = []
    load = loader.load_workloads

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return load(*args, **kwargs)

    monkeypatch.setattr(loader, "load_workloads", watched)
    make_platform().plan("dev", [score])
    make_platform(pause_gc=True).plan("dev", [score])
    assert seen == [True, False]  # left alone by default, paused when the embedder asks
    assert gc.isenabled()


def test_resuming_leaves_no_pass_over_what_the_plan_kept(make_platform: Any, score: Path) -> None:
    platform = make_platform(pause_gc=True)
    gc.collect()
    plan = platform.plan("dev", [score])
    # The changes the plan holds went straight to the oldest generation: the first
    # allocation after the pause does not start a pass over them.
    young = {id(o) for o in gc.get_objects(generation=0)}
    assert plan.changes and not any(id(change) in young for change in plan.changes)
    assert gc.get_count()[0] < gc.get_threshold()[0]
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_resuming_keeps_the_hosts_frozen_objects_frozen(make_platform: Any, score: Path) -> None:
    platform = make_platform(pause_gc=True)
    startup = {"loaded": ["modules"]}  # a pre-forking server freezes its startup objects
    gc.collect()
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 0
        plan = platform.plan("dev", [score])
        assert plan.changes and gc.isenabled()
        # Still frozen: in none of the three generations the collector examines.
        assert not any(obj is startup for obj in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(obj is startup for obj in gc.get_objects())  # the check can see it


def test_cycles_the_pause_kept_are_still_collected() -> None:
    from podium.engine.gc_pause import gc_paused

    class Loop:
        def __init__(self) -> None:
            self.me = self

    gc.collect()
    with gc_paused():
        loop = Loop()
        watched = weakref.ref(loop)
        del loop
    assert watched() is not None  # kept: cycles are the collector's to free
    gc.collect()
    assert watched() is None


def test_the_cli_opts_in_to_pausing_the_collector(tmp_path: Path, monkeypatch: Any) -> None:
    from podium.cli.context import CliState

    monkeypatch.chdir(tmp_path)
    state = CliState(no_plugins=True)
    try:
        platform = state.platform()
        assert platform.pause_gc
        assert platform.environ is __import__("os").environ
    finally:
        state.close()


def test_no_warnings_filters_are_changed(make_platform: Any, score: Path) -> None:
    before = list(warnings.filters)
    platform = make_platform(telemetry={"jsonl": True})
    platform.up("dev", [score])
    platform.close()
    assert list(warnings.filters) == before


def test_resource_attributes_come_from_environ_not_the_host(
    make_platform: Any, score: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=host")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "host-service")
    mine = make_platform(
        name="mine",
        telemetry={"jsonl": True},
        environ={"OTEL_RESOURCE_ATTRIBUTES": "team=payments,tier=gold"},
    )
    mine.plan("dev", [score])
    mine.store("dev")  # the state directory exists: spans are written there
    mine.plan("dev", [score])
    mine.close()
    resource = read_spans(mine.state_root / "spans.jsonl")[-1]["resource"]
    assert resource["team"] == "payments" and resource["tier"] == "gold"
    assert resource["service.name"] == "podium"


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.rfile.read(length)
        self.server.hits.append((self.path, dict(self.headers)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receivers() -> Iterator[list[HTTPServer]]:
    servers = []
    for _ in range(2):
        server = HTTPServer(("127.0.0.1", 0), _Receiver)
        server.hits = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def test_otlp_export_follows_environ_not_the_host(
    make_platform: Any,
    score: Path,
    receivers: list[HTTPServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host, mine = (f"http://127.0.0.1:{s.server_address[1]}" for s in receivers)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", host)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=host-secret")
    platform = make_platform(
        environ={"OTEL_EXPORTER_OTLP_ENDPOINT": mine, "OTEL_EXPORTER_OTLP_HEADERS": "x-team=a"}
    )
    platform.plan("dev", [score])
    platform.close()
    assert receivers[0].hits == []  # type: ignore[attr-defined]
    # Spans, and the platform's own metrics flushed at close, each with the platform's headers.
    hits = receivers[1].hits  # type: ignore[attr-defined]
    assert sorted(path for path, _ in hits) == ["/v1/metrics", "/v1/traces"]
    for _, headers in hits:
        lowered = {k.lower(): v for k, v in headers.items()}
        assert lowered.get("x-team") == "a" and "authorization" not in lowered


def test_host_podium_variables_do_not_reach_a_platform_given_environ(
    make_platform: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PODIUM_ACTOR", "host-user")
    monkeypatch.setenv("PODIUM_NO_PLUGINS", "1")
    platform = make_platform(environ={"PODIUM_ACTOR": "portal"})
    assert platform.actor == "portal"
    assert "fake" in {p.name for p in platform.plugins.plugins}
