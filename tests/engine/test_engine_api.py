"""The plan/apply engine through the Python API, with a real on-disk plugin."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from podium.api import Platform
from podium.errors import NoMatchingRuleError, PolicyBlockedError, StalePlanError
from podium.observability.contract import Event


def platform_for(project: Any, fake_module: Any, **kwargs: Any) -> Platform:
    return Platform.from_file(
        project.root / "podium.toml",
        plugins=[("fake", fake_module)],
        load_entrypoints=False,
        **kwargs,
    )


def actions(plan: Any) -> dict[str, str]:
    return {c.uid: c.action for c in plan.changes}


def test_plan_apply_noop_update_destroy(project: Any, fake_module: Any) -> None:
    with platform_for(project, fake_module) as platform:
        files = [project.root / "web.score.yaml"]
        plan = platform.plan("dev", files)
        assert actions(plan) == {
            "volume.default#web.data": "create",
            "volume.default#web.cache": "create",
            "deployment:web": "create",
        }
        # the cache's params reference data's output: an edge in the graph
        assert plan.change("volume.default#web.cache").depends_on == ["volume.default#web.data"]
        result = platform.apply(plan)
        assert result.ok, result.to_dict()
        assert len(project.dirs()) == 2
        deployed = project.deployed()
        assert deployed is not None and deployed["release"] == 1
        data_dir = next(d for d in project.dirs() if "data" in d)
        assert deployed["variables"]["main"]["DATA"].endswith(data_dir)
        # the placeholder value flowed from data's outputs into cache's params
        cache_dir = next(d for d in (project.world / "dirs").iterdir() if "cache" in d.name)
        assert json.loads((cache_dir / "params.json").read_text())["parent"].endswith(data_dir)

        again = platform.plan("dev", files)
        assert not again.has_changes
        assert set(actions(again).values()) == {"no-op"}

        (project.root / "web.score.yaml").write_text(
            (project.root / "web.score.yaml")
            .read_text()
            .replace("GREETING: hello", "GREETING: bonjour")
        )
        update = platform.plan("dev", files)
        assert actions(update)["deployment:web"] == "update"
        assert actions(update)["volume.default#web.data"] == "no-op"
        assert platform.apply(update).ok
        deployed = project.deployed()
        assert deployed is not None
        assert deployed["release"] == 2 and deployed["variables"]["main"]["GREETING"] == "bonjour"

        plan, result = platform.destroy("dev")
        assert set(actions(plan).values()) == {"delete"}
        assert result.ok
        order = [r.uid for r in result.results]
        assert order.index("deployment:web") < order.index("volume.default#web.data")
        assert project.dirs() == [] and project.deployed() is None
        assert platform.store("dev").records() == []
        history = platform.history("dev")
        assert [h["operation"] for h in history] == ["destroy", "apply", "apply"]
        assert all(h["status"] == "succeeded" for h in history)


def test_replace_on_immutable_param(project: Any, fake_module: Any) -> None:
    score = project.root / "web.score.yaml"
    score.write_text(
        score.read_text().replace("  cache:\n    type: volume\n", "  cache:\n    type: volume\n")
        + ""
    )
    text = score.read_text().replace(
        "      parent: ${resources.data.source}",
        "      parent: ${resources.data.source}\n      flavour: a",
    )
    score.write_text(text)
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [score])[1].ok
        score.write_text(text.replace("flavour: a", "flavour: b"))
        plan = platform.plan("dev", [score])
        change = plan.change("volume.default#web.cache")
        assert change.action == "replace" and "params.flavour" in change.changed
        assert platform.apply(plan).ok
        assert len(project.dirs()) == 2


def test_saved_plan_is_refused_when_state_moved(project: Any, fake_module: Any) -> None:
    with platform_for(project, fake_module) as platform:
        files = [project.root / "web.score.yaml"]
        saved = platform.plan("dev", files)
        from podium.engine.plan import Plan

        copy = Plan.from_dict(json.loads(saved.to_json()))
        assert platform.apply(platform.plan("dev", files)).ok
        with pytest.raises(StalePlanError, match="changed since this plan"):
            platform.apply(copy)
        assert len(project.dirs()) == 2  # nothing applied twice


def test_failure_skips_dependents_and_finishes_independent_work(
    project: Any, fake_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.root / "other.score.yaml").write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: other\ncontainers:\n  main:\n    image: x:1\n"
        "resources:\n  files:\n    type: volume\n"
    )
    monkeypatch.setenv("FAKE_FAIL", "data")
    with platform_for(project, fake_module) as platform:
        plan = platform.plan(
            "dev", [project.root / "web.score.yaml", project.root / "other.score.yaml"]
        )
        result = platform.apply(plan)
        status = {r.uid: r.status for r in result.results}
        assert status["volume.default#web.data"] == "failed"
        assert status["volume.default#web.cache"] == "skipped"
        assert status["deployment:web"] == "skipped"
        assert status["volume.default#other.files"] == "succeeded"
        assert status["deployment:other"] == "succeeded"
        assert not result.ok
        failed = result.failed[0]
        assert "FAKE_FAIL" in failed.message and "fake" in failed.message
        # state holds exactly what succeeded
        uids = {r.uid for r in platform.store("dev").records()}
        assert uids == {"volume.default#other.files", "deployment:other"}


def test_transient_errors_are_retried(
    project: Any, fake_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TRANSIENT", "data:2")
    events: list[Event] = []
    with platform_for(project, fake_module) as platform:
        platform.config.engine.retry_backoff = 0.01
        platform.subscribe(events.append)
        result = platform.up("dev", [project.root / "web.score.yaml"])[1]
        assert result.ok
        data = next(r for r in result.results if r.uid == "volume.default#web.data")
        assert data.attempts == 3
        assert sum(e.kind == "node.retrying" for e in events) == 2


def test_mandatory_policy_blocks_apply(project: Any, fake_module: Any) -> None:
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("example/web:1.0", "example/web:latest"))
    with platform_for(project, fake_module) as platform:
        plan = platform.plan("prod", [score])
        finding = next(f for f in plan.findings if f.policy == "builtin.no-latest-image")
        assert (
            finding.level == "mandatory"
            and finding.location
            and "web.score.yaml:6:5" in finding.location
        )
        with pytest.raises(PolicyBlockedError) as info:
            platform.apply(plan)
        assert info.value.exit_code == 5
        assert platform.store("prod").records() == []
        # the same workload is fine in dev, where the policy does not apply
        assert not platform.plan("dev", [score]).blocking_findings


def test_policy_level_from_config(project: Any, fake_module: Any) -> None:
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("example/web:1.0", "example/web"))
    config = project.root / "podium.toml"
    config.write_text(config.read_text() + '\n[policies]\n"builtin.no-latest-image" = "advisory"\n')
    with platform_for(project, fake_module) as platform:
        plan = platform.plan("prod", [score])
        assert not plan.blocking_findings
        assert any(
            f.policy == "builtin.no-latest-image" and f.level == "advisory" for f in plan.findings
        )


def test_rollback_redeploys_the_previous_release(project: Any, fake_module: Any) -> None:
    score = project.root / "web.score.yaml"
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [score])[1].ok
        score.write_text(score.read_text().replace("GREETING: hello", "GREETING: v2"))
        assert platform.up("dev", [score])[1].ok
        assert project.deployed()["variables"]["main"]["GREETING"] == "v2"  # type: ignore[index]
        result = platform.rollback("dev", "web")
        assert result["rolled_back_to"] == 1 and result["release"] == 3
        deployed = project.deployed()
        assert deployed is not None
        assert deployed["variables"]["main"]["GREETING"] == "hello" and deployed["release"] == 3
        releases = platform.releases("dev", "web")
        assert [r["number"] for r in releases] == [1, 2, 3]
        assert releases[-1]["note"] == "rollback to release 1"
        assert (
            releases[0]["workload"]["containers"]["main"]["variables"]["DB_PASSWORD"]
            == "(sensitive)"
        )
        # the current files still say v2, so the next plan wants to redeploy it
        assert actions(platform.plan("dev", [score]))["deployment:web"] == "update"


def test_drift_detection_with_refresh(project: Any, fake_module: Any) -> None:
    score = project.root / "web.score.yaml"
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [score])[1].ok
        import shutil

        victim = next(p for p in (project.world / "dirs").iterdir() if "cache" in p.name)
        shutil.rmtree(victim)
        assert not platform.plan("dev", [score]).has_changes  # without refresh state is trusted
        plan = platform.plan("dev", [score], refresh=True)
        change = plan.change("volume.default#web.cache")
        assert change.action == "create" and "drift" in change.reason
        assert platform.apply(plan).ok
        assert victim.exists()


def test_no_matching_rule_lists_candidates(project: Any, fake_module: Any) -> None:
    score = project.root / "web.score.yaml"
    score.write_text(
        score.read_text().replace("  cache:\n    type: volume", "  cache:\n    type: redis")
    )
    with platform_for(project, fake_module) as platform, pytest.raises(NoMatchingRuleError) as info:
        platform.plan("dev", [score])
    message = str(info.value)
    assert "redis.default#web.cache" in message and "no rule has this type" in message


def test_shared_resource_is_one_node(project: Any, fake_module: Any) -> None:
    shared = "    id: shared-data\n"
    for name in ("app-a", "app-b"):
        (project.root / f"{name}.score.yaml").write_text(
            f"apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: x:1\n"
            "    variables:\n      DIR: ${resources.db.source}\n"
            f"resources:\n  db:\n    type: volume\n{shared}"
        )
    with platform_for(project, fake_module) as platform:
        plan = platform.plan(
            "dev", [project.root / "app-a.score.yaml", project.root / "app-b.score.yaml"]
        )
        resources = [c.uid for c in plan.changes if c.kind == "resource"]
        assert resources == ["volume.default#shared-data"]
        assert platform.apply(plan).ok
        dirs = [project.deployed(n)["variables"]["main"]["DIR"] for n in ("app-a", "app-b")]  # type: ignore[index]
        assert dirs[0] == dirs[1]


def test_two_platforms_in_one_process_and_threads(make_project: Any, fake_module: Any) -> None:
    projects = [make_project(f"p{i}") for i in range(2)]
    platforms = [platform_for(p, fake_module) for p in projects]
    errors: list[BaseException] = []

    def run(platform: Platform, project: Any) -> None:
        try:
            assert platform.up("dev", [project.root / "web.score.yaml"])[1].ok
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=pair) for pair in zip(platforms, projects, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for platform, project in zip(platforms, projects, strict=True):
        assert len(project.dirs()) == 2
        platform.close()


def test_events_stream_progress(project: Any, fake_module: Any) -> None:
    events: list[Event] = []
    with platform_for(project, fake_module, on_event=events.append) as platform:
        platform.up("dev", [project.root / "web.score.yaml"])
    kinds = [e.kind for e in events]
    assert kinds[0] == "plan.started" and "apply.finished" in kinds
    assert kinds.count("node.succeeded") == 3
    assert all(e.environment == "dev" and e.platform == "enginetest" for e in events)


def test_generated_password_survives_replace_of_nothing(project: Any, fake_module: Any) -> None:
    """A generated secret is journaled once: re-running create reuses it."""
    with platform_for(project, fake_module) as platform:
        platform.up("dev", [project.root / "web.score.yaml"])
        store = platform.store("dev")
        token = store.get_generated("volume.default#web.data", "password")
        assert token is not None and "password" not in token
        data_dir = next(p for p in (project.world / "dirs").iterdir() if "data" in p.name)
        assert platform.cipher().decrypt(token) == (data_dir / "password").read_text()


def test_spans_of_the_engine_and_hooks_are_exported(project: Any, fake_module: Any) -> None:
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [project.root / "web.score.yaml"])[1].ok
    spans = [
        json.loads(line)
        for line in (project.root / ".podium" / "spans.jsonl").read_text().splitlines()
    ]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    assert {"podium.plan", "podium.apply"} <= set(by_name)
    nodes = {s["attributes"]["podium.node"]: s for s in by_name["podium.node"]}
    assert set(nodes) == {"volume.default#web.data", "volume.default#web.cache", "deployment:web"}
    assert nodes["deployment:web"]["attributes"]["podium.plugin"] == "fake"
    # a node span is also the span of the plugin call it makes: it names the plugin
    data = nodes["volume.default#web.data"]["attributes"]
    assert data["podium.plugin"] == "fake" and data["podium.hook"] == "fake-dir.create"
    # node spans nest under the apply span, even though they run on worker threads
    apply_span = by_name["podium.apply"][0]
    assert all(s["trace_id"] == apply_span["trace_id"] for s in nodes.values())
    assert all(s["parent_span_id"] == apply_span["span_id"] for s in nodes.values())


def test_plans_leave_other_workloads_alone_unless_pruned(project: Any, fake_module: Any) -> None:
    other = project.root / "other.score.yaml"
    other.write_text(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: other\ncontainers:\n  main:\n    image: x:1\n"
        "resources:\n  files:\n    type: volume\n"
    )
    web = project.root / "web.score.yaml"
    with platform_for(project, fake_module) as platform:
        assert platform.up("dev", [web])[1].ok
        assert platform.up("dev", [other])[1].ok  # another team, another file
        assert len(project.dirs()) == 3
        plan = platform.plan("dev", [web])
        assert not plan.has_changes
        assert all(c.workload == "web" for c in plan.changes)
        pruned = platform.plan("dev", [web], prune=True)
        deletes = {c.uid for c in pruned.changes if c.action == "delete"}
        assert deletes == {"volume.default#other.files", "deployment:other"}
        plan, result = platform.destroy("dev", workloads=["other"])
        assert result.ok and {c.uid for c in plan.changes} == deletes
        assert len(project.dirs()) == 2 and project.deployed("web") is not None


def test_a_failed_deploy_is_recorded_for_status_destroy_and_retry(
    project: Any, fake_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    score = project.root / "web.score.yaml"
    with platform_for(project, fake_module) as platform:
        monkeypatch.setenv("FAKE_DEPLOY_FAIL", "web")
        result = platform.up("dev", [score])[1]
        assert not result.ok
        assert [r.uid for r in platform.deployments("dev")] == ["deployment:web"]
        assert platform.releases("dev", "web")[-1]["status"] == "failed"
        retry = platform.plan("dev", [score])
        change = retry.change("deployment:web")
        assert change.action == "update" and "failed to deploy" in change.reason
        monkeypatch.delenv("FAKE_DEPLOY_FAIL")
        assert platform.apply(retry).ok
        assert project.deployed() is not None
        assert not platform.plan("dev", [score]).has_changes


def node_spans(project: Any) -> dict[str, dict[str, Any]]:
    lines = (project.root / ".podium" / "spans.jsonl").read_text().splitlines()
    spans = [json.loads(line) for line in lines]
    return {s["attributes"]["podium.node"]: s for s in spans if s["name"] == "podium.node"}


def test_a_failed_node_span_has_status_error_and_the_exception(
    project: Any, fake_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_FAIL", "data")
    with platform_for(project, fake_module) as platform:
        assert not platform.up("dev", [project.root / "web.score.yaml"])[1].ok
    failed = node_spans(project)["volume.default#web.data"]
    assert failed["status"] == "ERROR"
    assert "FAKE_FAIL" in failed["status_message"]
    [exception] = [e for e in failed["events"] if e["name"] == "exception"]
    assert "FAKE_FAIL" in exception["attributes"]["exception.message"]


def test_retry_delays_are_capped_and_a_cancel_ends_the_retries(
    project: Any, fake_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Delays come from retry_backoff (doubling, plus jitter) and never exceed
    retry_max_delay; cancelling during a wait stops retrying with the last error."""
    monkeypatch.setenv("FAKE_TRANSIENT", "data:50")
    events: list[Event] = []
    with platform_for(project, fake_module) as platform:
        platform.config.engine.retries = 6
        platform.config.engine.retry_backoff = 0.01
        platform.config.engine.retry_max_delay = 0.03
        platform.subscribe(events.append)
        result = platform.up("dev", [project.root / "web.score.yaml"])[1]
        data = next(r for r in result.results if r.uid == "volume.default#web.data")
        assert data.status == "failed" and data.attempts == 7
        delays = [e.data["delay"] for e in events if e.kind == "node.retrying"]
        assert len(delays) == 6 and max(delays) <= 0.03 and min(delays) >= 0.01

        def cancel_on_retry(event: Event) -> None:
            if event.kind == "node.retrying":
                platform.cancel()

        events.clear()
        platform.config.engine.retry_backoff = 30.0  # a cancel must cut this wait short
        platform.config.engine.retry_max_delay = 30.0
        platform.subscribe(cancel_on_retry)
        result = platform.up("dev", [project.root / "web.score.yaml"])[1]
        data = next(r for r in result.results if r.uid == "volume.default#web.data")
        assert data.status == "failed" and data.attempts == 1
        assert "is busy" in data.message  # the transient error, not a cancellation message
        assert data.seconds < 30  # the 30 s wait was cut short (a bound, not a timing)
