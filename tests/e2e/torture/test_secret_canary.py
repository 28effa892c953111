"""Secret canary: planted secrets never show up in logs, spans, plans, JSON or state bytes.

Three kinds of secret flow through a run: a value a provisioner returns as a
Secret output (and that another resource's params and the outputs reference),
passwords the provisioner generates through ``ctx.generate_secret``, and a
value stored with ``podium secrets set``. Every command runs with debug logging
and hook tracing on; everything they print and every file Podium writes
(state database and its WAL, spans.jsonl, saved plan, secrets file) is searched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from torture_project import Project

CANARY = "canary-5d1e0b7c-do-not-print"
STORED = "stored-canary-91ab44e2"
REPO = Path(__file__).resolve().parents[3]


def _haystack(root: Path, skip: Path | None = None) -> dict[str, bytes]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and (skip is None or skip not in path.parents):
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def _assert_absent(needles: list[str], texts: dict[str, bytes]) -> None:
    for needle in needles:
        hits = [name for name, data in texts.items() if needle.encode() in data]
        assert not hits, f"secret {needle[:6]}... found in {hits}"


def test_no_secret_reaches_any_log_span_plan_output_or_state_byte(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.write_workload(
        "app",
        {"base": {}, "child": {"up": "${resources.base.path}", "key": "${resources.base.token}"}},
    )
    env = {"PODIUM_TORTURE_CANARY": CANARY, "PODIUM_TRACE_HOOKS": "1"}
    printed: dict[str, bytes] = {}

    def podium(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=project.root,
            env=project.env(**env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (args, done.stderr)
        printed[f"{' '.join(args)} (stdout)"] = done.stdout.encode()
        printed[f"{' '.join(args)} (stderr)"] = done.stderr.encode()
        return done

    podium("secrets", "set", "canary", stdin=STORED)
    for args in (
        ("--debug", "plan", "--out", "plan.json"),
        ("--json", "plan"),
        ("--debug", "apply", "plan.json"),
        ("--json", "outputs"),
        ("--debug", "outputs"),
        ("--json", "history"),
        ("--json", "secrets", "list"),
        ("secrets", "get", "canary"),
        ("--debug", "--json", "plan", "--refresh"),
    ):
        podium(*args)
    revealed = json.loads(podium("--json", "outputs", "--show-secrets").stdout)
    del printed["--json outputs --show-secrets (stdout)"]  # asked for explicitly
    text = json.dumps(revealed)
    assert CANARY in text  # the canary really flowed through the run
    generated = [values["password"] for uid, values in revealed.items() if uid.startswith("dir.")]
    assert len(generated) == 2 and all(len(p) >= 16 for p in generated)
    assert podium("secrets", "get", "canary", "--reveal").stdout.strip() == STORED
    del printed["secrets get canary --reveal (stdout)"]
    # The child's params really carried the secret (it was resolved, sealed, journaled).
    child = next(p for p in project.world.iterdir() if "child" in p.name)
    assert "secret" in (child / "params.json").read_text().lower()
    files = _haystack(project.root, skip=project.world)
    assert any(name.endswith("state.db") for name in files)
    assert any(name.endswith("spans.jsonl") and data for name, data in files.items())
    _assert_absent([CANARY, STORED, *generated], {**printed, **files})


LOCAL_REASON = "podium-local is not installed (required when CI is set)"


@pytest.mark.skipif(
    not os.environ.get("CI") and shutil.which("pg_ctl") is None,
    reason="the shop example needs PostgreSQL and redis-server binaries",
)
def test_shop_example_leaks_no_generated_password(tmp_path: Path) -> None:
    try:
        import podium_local  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip(LOCAL_REASON)
    shop = tmp_path / "shop"
    shutil.copytree(REPO / "examples" / "shop", shop)
    if os.geteuid() == 0:
        # As root, podium-local runs apps as an unprivileged user, who cannot enter pytest's
        # private tmp_path (nor, often, this Python): this test is about secrets, not that.
        with (shop / "podium.toml").open("a") as config:
            config.write('\n[plugins.local]\nworkload_user = "root"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(PODIUM_TRACE_HOOKS="1", NO_COLOR="1")
    printed: dict[str, bytes] = {}

    def podium(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=shop,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check:
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        printed[f"{' '.join(args)} (stdout)"] = done.stdout.encode()
        printed[f"{' '.join(args)} (stderr)"] = done.stderr.encode()
        return done

    try:
        podium("--debug", "plan", "--out", "plan.json")
        podium("--debug", "apply", "plan.json")
        podium("--json", "outputs")
        podium("--debug", "status")
        podium("--json", "history")
        revealed = json.loads(podium("--json", "outputs", "--show-secrets").stdout)
        del printed["--json outputs --show-secrets (stdout)"]
        passwords = [
            v
            for values in revealed.values()
            for k, v in values.items()
            if "password" in k and isinstance(v, str) and len(v) >= 8
        ]
        assert passwords, revealed
    finally:
        podium("destroy", "--yes", check=False)
    podium("--json", "history")
    files = _haystack(shop / ".podium")
    files["plan.json"] = (shop / "plan.json").read_bytes()
    _assert_absent(passwords, {**printed, **files})
