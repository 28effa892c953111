"""The data-loss guard (issue 13, item 2), through the real ``podium`` CLI and the Platform API.

A provisioner that declares ``holds_data`` makes every delete or replace of its
resources a DATA LOSS change; in a protected environment (the prod tier by default,
``protect_data`` in ``[environments.<name>]``) apply refuses it (exit 5) unless
``--allow-data-loss``, which history records. A class change is one replace.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# The fake directories, declared as holding data; ``data`` is kept by a shared id.
CONFIG = """\
[platform]
name = "datatest"
workloads = ["*.score.yaml"]

[plugins]
allow = ["fake"]

[environments.dev]
deployer = "fake-deployer"

[environments.prod]
deployer = "fake-deployer"

[[rules]]
type = "volume"
provisioner = "fake-data-dir"
"""

WEB = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web:1.0
    variables:
      DATA: ${resources.data.source}
resources:
  data:
    type: volume
  scratch:
    type: volume
"""


@pytest.fixture
def data_project(project: Any) -> Any:
    (project.root / "podium.toml").write_text(CONFIG)
    (project.root / "web.score.yaml").write_text(WEB)
    return project


def _score(project: Any, old: str, new: str) -> None:
    path = project.root / "web.score.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _drop_scratch(project: Any) -> None:
    _score(project, "  scratch:\n    type: volume\n", "")


def _dirs(project: Any, env: str) -> list[str]:
    base = project.root / ".podium" / env / "fake-world" / "dirs"
    return sorted(p.name for p in base.iterdir()) if base.exists() else []


# --------------------------------------------------------------- declarations
def test_podium_schema_resource_says_which_provisioners_hold_data(data_project: Any) -> None:
    text = data_project.podium("schema", "resource", "volume", check=True).stdout
    assert "provisioner fake-data-dir (plugin fake; classes: all; holds data)" in text
    assert "provisioner fake-dir (plugin fake; classes: all)" in text
    documents = data_project.podium_json("schema", "resource", "volume")["provisioners"]
    flags = {d["x-podium-provisioner"]: d["x-podium-holds-data"] for d in documents}
    assert flags == {"fake-dir": False, "fake-data-dir": True}


# ------------------------------------------------------------------ labelling
def test_deleting_a_data_store_is_labelled_data_loss_in_text_and_json(data_project: Any) -> None:
    data_project.podium("up", "-e", "dev", check=True)
    _drop_scratch(data_project)
    text = data_project.podium("plan", "-e", "dev", check=True)  # dev is not protected
    line = next(ln for ln in text.stdout.splitlines() if "volume.default#web.scratch" in ln)
    assert "delete" in line and "DATA LOSS" in line
    plan = data_project.podium_json("plan", "-e", "dev")
    by_uid = {c["uid"]: c for c in plan["changes"]}
    assert by_uid["volume.default#web.scratch"]["data_loss"] is True
    assert by_uid["deployment:web"]["data_loss"] is False
    assert not [f for f in plan["findings"] if f["policy"] == "podium.data-loss"]
    data_project.podium("up", "-e", "dev", check=True)
    assert len(_dirs(data_project, "dev")) == 1


def test_a_provisioner_without_holds_data_is_not_labelled(project: Any) -> None:
    project.podium("up", "-e", "prod", check=True)
    score = project.root / "web.score.yaml"
    score.write_text(score.read_text().replace("      parent: ${resources.data.source}\n", ""))
    score.write_text(score.read_text().replace("  cache:\n    type: volume\n    params:\n", ""))
    plan = project.podium_json("plan", "-e", "prod")
    deleted = [c for c in plan["changes"] if c["action"] == "delete"]
    assert deleted and not any(c["data_loss"] for c in deleted)
    project.podium("up", "-e", "prod", check=True)  # fake-dir holds no data: no guard


# --------------------------------------------------------------- protection
def test_prod_refuses_data_loss_without_consent_and_records_consent(data_project: Any) -> None:
    data_project.podium("up", "-e", "prod", check=True)
    _drop_scratch(data_project)
    blocked = data_project.podium("up", "-e", "prod")
    assert blocked.returncode == 5, blocked.stderr
    assert "podium.data-loss" in blocked.stdout + blocked.stderr
    assert "--allow-data-loss" in blocked.stderr
    assert len(_dirs(data_project, "prod")) == 2  # nothing was deleted
    plan = data_project.podium("plan", "-e", "prod")
    assert plan.returncode == 5
    assert "mandatory: podium.data-loss: volume.default#web.scratch" in plan.stdout

    allowed = data_project.podium("up", "-e", "prod", "--allow-data-loss")
    assert allowed.returncode == 0, allowed.stderr
    assert len(_dirs(data_project, "prod")) == 1
    history = data_project.podium_json("history", "-e", "prod")
    assert history[0]["allowed_data_loss"] == ["volume.default#web.scratch"]
    assert "allowed_data_loss" not in history[1]


def test_destroy_in_prod_needs_consent(data_project: Any) -> None:
    data_project.podium("up", "-e", "prod", check=True)
    blocked = data_project.podium("destroy", "-e", "prod", "--yes")
    assert blocked.returncode == 5, blocked.stderr
    assert len(_dirs(data_project, "prod")) == 2
    data_project.podium("destroy", "-e", "prod", "--yes", "--allow-data-loss", check=True)
    assert _dirs(data_project, "prod") == []


def test_protect_data_is_configurable_per_environment(data_project: Any) -> None:
    config = data_project.root / "podium.toml"
    text = config.read_text()
    text = text.replace(
        '[environments.dev]\ndeployer = "fake-deployer"\n',
        '[environments.dev]\ndeployer = "fake-deployer"\nprotect_data = true\n',
    )
    text = text.replace(
        '[environments.prod]\ndeployer = "fake-deployer"\n',
        '[environments.prod]\ndeployer = "fake-deployer"\nprotect_data = false\n',
    )
    config.write_text(text)
    data_project.podium("up", "-e", "dev", check=True)
    data_project.podium("up", "-e", "prod", check=True)
    _drop_scratch(data_project)
    assert data_project.podium("up", "-e", "dev").returncode == 5
    data_project.podium("up", "-e", "prod", check=True)  # protection switched off


def test_a_saved_plan_cannot_consent_for_the_operator(data_project: Any) -> None:
    data_project.podium("up", "-e", "prod", check=True)
    _drop_scratch(data_project)
    saved = data_project.podium("plan", "-e", "prod", "--allow-data-loss", "--out", "p.json")
    assert saved.returncode == 0, saved.stderr
    assert json.loads((data_project.root / "p.json").read_text())["allow_data_loss"] is True
    refused = data_project.podium("apply", "p.json")
    assert refused.returncode == 5, refused.stderr
    assert len(_dirs(data_project, "prod")) == 2
    data_project.podium("apply", "p.json", "--allow-data-loss", check=True)
    assert len(_dirs(data_project, "prod")) == 1


def test_platform_api_takes_allow_data_loss(data_project: Any, fake_module: Any) -> None:
    from podium.api import Platform
    from podium.errors import PolicyBlockedError

    data_project.podium("up", "-e", "prod", check=True)
    _drop_scratch(data_project)
    platform = Platform.from_file(
        data_project.root / "podium.toml", plugins=[("fake", fake_module)], load_entrypoints=False
    )
    files = [data_project.root / "web.score.yaml"]
    with pytest.raises(PolicyBlockedError, match="--allow-data-loss"):
        platform.up("prod", files)
    plan = platform.plan("prod", files)
    assert [f.subject for f in plan.blocking_findings] == ["volume.default#web.scratch"]
    result = platform.apply(plan, allow_data_loss=True)
    assert result.ok
    assert len(_dirs(data_project, "prod")) == 1
    history = platform.history("prod")
    assert history[0]["allowed_data_loss"] == ["volume.default#web.scratch"]


# ------------------------------------------------------------- class change
def test_a_class_change_is_shown_as_one_replace(data_project: Any) -> None:
    data_project.podium("up", "-e", "dev", check=True)
    _score(
        data_project, "  data:\n    type: volume\n", "  data:\n    type: volume\n    class: large\n"
    )
    text = data_project.podium("plan", "-e", "dev", check=True).stdout
    assert "volume.default#web.data -> volume.large#web.data" in text
    assert "DATA LOSS" in text
    assert "no longer in any workload" not in text
    assert text.count("volume.default#web.data") == 1, text  # no separate delete line
    assert "Plan: 0 to create, 1 to update, 1 to replace, 0 to delete" in text
    plan = data_project.podium_json("plan", "-e", "dev")
    by_uid = {c["uid"]: c for c in plan["changes"]}
    assert by_uid["volume.large#web.data"]["replaces"] == "volume.default#web.data"
    assert by_uid["volume.default#web.data"]["replaced_by"] == "volume.large#web.data"
    assert "class changes from default to large" in by_uid["volume.large#web.data"]["reason"]


def test_a_class_change_of_a_shared_resource_is_one_guarded_replace(data_project: Any) -> None:
    _score(
        data_project,
        "  data:\n    type: volume\n",
        "  data:\n    type: volume\n    id: payments-db\n",
    )
    data_project.podium("up", "-e", "prod", check=True)
    _score(data_project, "    id: payments-db\n", "    id: payments-db\n    class: large\n")
    plan = data_project.podium("plan", "-e", "prod")
    assert plan.returncode == 5
    assert "volume.default#payments-db -> volume.large#payments-db" in plan.stdout
    findings = [ln for ln in plan.stdout.splitlines() if "mandatory: podium.data-loss" in ln]
    assert len(findings) == 1 and "replaces a resource" in findings[0]


def test_shipped_plan_files_still_load(tmp_path: Path) -> None:
    """A plan saved before the guard (no data-loss keys) still reads: the keys are optional."""
    from podium.engine.plan import PLAN_FORMAT, Plan

    data = {
        "format": PLAN_FORMAT,
        "platform": "p",
        "environment": "dev",
        "serial": 0,
        "changes": [
            {
                "uid": "volume.default#w.d",
                "kind": "resource",
                "action": "delete",
                "reason": "r",
                "provider": "x",
                "plugin": "y",
                "spec": {},
            }
        ],
    }
    plan = Plan.from_dict(data)
    assert plan.changes[0].data_loss is False and plan.allow_data_loss is False


# ------------------------------------------------------------------ terminal
def _on_a_terminal(project: Any, *args: str, answer: str) -> tuple[int, str]:
    """Run podium with a pseudo-terminal as stdin/stdout; answer its first question."""
    import os
    import pty
    import select
    import subprocess
    import sys

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "podium", *args],
        cwd=project.root,
        env=project.env(),
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    output, answered = b"", False
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 120)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"Continue?" in output:
                os.write(master, answer.encode() + b"\n")
                answered = True
    finally:
        os.close(master)
    return proc.wait(timeout=120), output.decode(errors="replace")


def test_up_on_a_terminal_asks_before_destroying_data(data_project: Any) -> None:
    data_project.podium("up", "-e", "dev", check=True)
    _drop_scratch(data_project)
    code, output = _on_a_terminal(data_project, "up", "-e", "dev", answer="n")
    assert "This plan destroys the data of volume.default#web.scratch" in output
    assert code != 0 and len(_dirs(data_project, "dev")) == 2  # declined: nothing deleted
    code, output = _on_a_terminal(data_project, "up", "-e", "dev", answer="y")
    assert code == 0, output
    assert len(_dirs(data_project, "dev")) == 1
