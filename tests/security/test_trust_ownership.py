"""One identity model: owners from podium.toml, actors from the operator, ownership in plans.

Attacks from issue 10, re-run through the real ``podium`` CLI with a real plugin
(the engine tests' fake platform: directories as resources, JSON files as
deployments), each refused with a clear error and nothing written to state.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_project import FAKE_PLATFORM, CliProject, install_plugin, load_module

from podium.api import Platform
from podium.config.models import TeamSection
from podium.errors import ConfigError, ExitCode, OwnershipError, WorkloadError
from podium.identity import actor, owner_of_path
from podium.platform.contract import LEGACY_BOOKKEEPING_KEYS
from podium.state.audit_migration import audit_column_definitions
from podium.state.schema import SCHEMA_VERSION
from podium.workload.loader import load_workload_text

CONFIG = """\
[platform]
name = "owners"

[plugins]
allow = ["fake"]

[environments.dev]
deployer = "fake-deployer"

[teams.payments]
paths = ["teams/a/**"]

[teams.intruders]
paths = ["teams/b/**"]

[[rules]]
type = "volume"
provisioner = "fake-dir"
"""

SHARED_RULE = """
[[rules]]
type = "volume"
id = "ledger"
provisioner = "fake-dir"
shared_across_owners = true
"""


def score(name: str, *, image: str = "app:1", resources: str = "", annotations: str = "") -> str:
    text = f"apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\n"
    if annotations:
        text += f"  annotations:\n{annotations}"
    text += f"containers:\n  main:\n    image: {image}\n"
    if resources:
        text += f"resources:\n{resources}"
    return text


ORDERS_DB = "  db:\n    type: volume\n"


def ledger(size: int) -> str:
    return f"  ledger:\n    type: volume\n    id: ledger\n    params:\n      size: {size}\n"


def fake_plugin() -> Any:
    """The fake plugin module for in-process platforms, loaded from its file under its own name."""
    return load_module(FAKE_PLATFORM, "ownership_fake_platform")


class Project(CliProject):
    """A platform directory: podium.toml with two teams, and the fake plugin installed."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, root / "site")
        install_plugin(self.site, "fake", FAKE_PLATFORM.read_text(), module="fake_platform")
        (root / "podium.toml").write_text(CONFIG)

    def podium(
        self, *args: str, actor: str = "ci@example.test", **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        return super().podium(*args, PODIUM_ACTOR=actor, **kwargs)

    @property
    def world(self) -> Path:
        return self.root / ".podium" / "dev" / "fake-world"

    def dirs(self) -> list[str]:
        base = self.world / "dirs"
        return sorted(p.name for p in base.iterdir()) if base.exists() else []

    def deployed(self, workload: str) -> dict[str, Any] | None:
        path = self.world / "deployed" / f"{workload}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def state(self) -> tuple[int, dict[str, str | None]]:
        """The state serial and each record's owner, read from the database file itself."""
        with sqlite3.connect(self.root / ".podium" / "dev" / "state.db") as db:
            serial = db.execute("SELECT value FROM meta WHERE key = 'serial'").fetchone()[0]
            owners = dict(db.execute("SELECT uid, owner FROM records").fetchall())
        return int(serial), owners

    def history(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.json("history", "-e", "dev")
        return entries


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "platform")


@pytest.fixture
def orders_of_payments(project: Project) -> Project:
    """Team payments (teams/a) has deployed ``orders`` with its database."""
    project.write("teams/a/orders.score.yaml", score("orders", resources=ORDERS_DB))
    project.ok("up", "-e", "dev", "-f", "teams/a/orders.score.yaml")
    assert project.state()[1] == {
        "volume.default#orders.db": "payments",
        "deployment:orders": "payments",
    }
    return project


# ---------------------------------------------------------------- taking a name
def test_reusing_another_teams_workload_name_is_refused_and_its_database_kept(
    orders_of_payments: Project,
) -> None:
    project = orders_of_payments
    before = project.state()
    [database] = project.dirs()
    deployed = project.deployed("orders")
    # Team intruders (teams/b) writes its own "orders", without the database.
    project.write("teams/b/orders.score.yaml", score("orders", image="evil:1"))
    for command in ("plan", "up"):
        result = project.podium(command, "-e", "dev", "-f", "teams/b/orders.score.yaml")
        assert result.returncode == ExitCode.OWNERSHIP, result.stderr
        assert "workload 'orders' is owned by 'payments', not by 'intruders'" in result.stderr
        assert "delete volume.default#orders.db" in result.stderr
        assert "--take-over orders" in result.stderr
    assert project.state() == before  # nothing written
    assert project.dirs() == [database]  # the database is still there
    assert project.deployed("orders") == deployed


def test_take_over_is_explicit_and_recorded_in_history(orders_of_payments: Project) -> None:
    project = orders_of_payments
    project.write("teams/b/orders.score.yaml", score("orders", resources=ORDERS_DB))
    plan = json.loads(
        project.ok(
            "--json",
            "plan",
            "-e",
            "dev",
            "-f",
            "teams/b/orders.score.yaml",
            "--take-over",
            "orders",
        ).stdout
    )
    assert plan["take_over"] == ["orders"]
    assert {c["uid"]: c["owner"] for c in plan["changes"]} == {
        "volume.default#orders.db": "intruders",
        "deployment:orders": "intruders",
    }
    project.ok(
        "up",
        "-e",
        "dev",
        "-f",
        "teams/b/orders.score.yaml",
        "--take-over",
        "orders",
        actor="mallory@intruders.test",
    )
    assert set(project.state()[1].values()) == {"intruders"}
    [entry, *_] = project.history()
    assert entry["take_over"] == ["orders"] and entry["who"] == "mallory@intruders.test"
    shown = project.ok("history", "-e", "dev").stdout.splitlines()[0]
    assert "mallory@intruders.test" in shown and "took over orders" in shown
    # Now payments' own file is the one refused, naming both owners the other way round.
    result = project.podium("up", "-e", "dev", "-f", "teams/a/orders.score.yaml")
    assert result.returncode == ExitCode.OWNERSHIP
    assert "owned by 'intruders', not by 'payments'" in result.stderr


def test_a_saved_plan_cannot_grant_itself_a_take_over(orders_of_payments: Project) -> None:
    project = orders_of_payments
    project.write("teams/b/orders.score.yaml", score("orders", resources=ORDERS_DB))
    shown = project.ok(
        "plan", "-e", "dev", "-f", "teams/b/orders.score.yaml", "--take-over", "orders",
        "--out", "takeover.json",
    )  # fmt: skip
    assert "takes over from another owner: orders" in shown.stdout
    before = project.state()
    refused = project.podium("apply", "takeover.json")
    assert refused.returncode == ExitCode.OWNERSHIP
    assert "--take-over orders" in refused.stderr
    assert project.state() == before
    project.ok("apply", "takeover.json", "--take-over", "orders")
    assert set(project.state()[1].values()) == {"intruders"}


def test_destroying_another_teams_workload_from_a_file_is_refused(
    orders_of_payments: Project,
) -> None:
    project = orders_of_payments
    project.write("teams/b/orders.score.yaml", score("orders"))
    before = project.state()
    result = project.podium("destroy", "-e", "dev", "-f", "teams/b/orders.score.yaml", "--yes")
    assert result.returncode == ExitCode.OWNERSHIP
    assert "owned by 'payments', not by 'intruders'" in result.stderr
    assert project.state() == before and project.deployed("orders") is not None


# ------------------------------------------------------------- shared resources
def test_an_id_resource_of_another_owner_is_neither_claimed_nor_reparameterised(
    project: Project,
) -> None:
    project.write("teams/a/books.score.yaml", score("books", resources=ledger(1)))
    project.ok("up", "-e", "dev", "-f", "teams/a/books.score.yaml")
    before = project.state()
    assert before[1]["volume.default#ledger"] == "payments"
    # Claiming it as is gets the intruder the ledger's credentials; changing it re-parameterises it.
    for size in (1, 2):
        project.write("teams/b/spy.score.yaml", score("spy", resources=ledger(size)))
        result = project.podium("up", "-e", "dev", "-f", "teams/b/spy.score.yaml")
        assert result.returncode == ExitCode.OWNERSHIP, result.stderr
        assert (
            "resource volume.default#ledger (id 'ledger') is owned by 'payments'" in result.stderr
        )
        assert "shared_across_owners = true" in result.stderr
        assert project.state() == before and project.deployed("spy") is None


def test_a_rule_can_share_an_id_resource_across_owners_for_use_not_change(
    project: Project,
) -> None:
    (project.root / "podium.toml").write_text(CONFIG + SHARED_RULE)
    project.write("teams/a/books.score.yaml", score("books", resources=ledger(1)))
    project.ok("up", "-e", "dev", "-f", "teams/a/books.score.yaml")
    project.write("teams/b/reports.score.yaml", score("reports", resources=ledger(1)))
    project.ok("up", "-e", "dev", "-f", "teams/b/reports.score.yaml")
    owners = project.state()[1]
    assert owners["volume.default#ledger"] == "payments"  # still its creator's
    assert owners["deployment:reports"] == "intruders"
    before = project.state()
    project.write("teams/b/reports.score.yaml", score("reports", resources=ledger(5)))
    result = project.podium("up", "-e", "dev", "-f", "teams/b/reports.score.yaml")
    assert result.returncode == ExitCode.OWNERSHIP
    assert "lets other owners use it, not change it" in result.stderr
    assert project.state() == before


# ----------------------------------------------------------------------- prune
def test_prune_never_deletes_another_owners_workload(orders_of_payments: Project) -> None:
    project = orders_of_payments
    project.write("teams/b/keep.score.yaml", score("keep"))
    project.write("teams/b/gone.score.yaml", score("gone"))
    project.ok("up", "-e", "dev", "-f", "teams/b/keep.score.yaml", "-f", "teams/b/gone.score.yaml")
    plan = json.loads(
        project.ok("--json", "plan", "-e", "dev", "-f", "teams/b/keep.score.yaml", "--prune").stdout
    )
    deletes = {c["uid"] for c in plan["changes"] if c["action"] == "delete"}
    assert deletes == {"deployment:gone"}  # intruders' own; payments' orders stays
    assert any("leaves workload 'orders' alone" in w for w in plan["warnings"])
    project.ok("up", "-e", "dev", "-f", "teams/b/keep.score.yaml", "--prune")
    assert project.deployed("gone") is None
    assert project.deployed("orders") is not None and len(project.dirs()) == 1


# ---------------------------------------------------------- owner annotations
def test_an_owner_annotation_is_a_claim_checked_against_the_mapping(project: Project) -> None:
    claim = '    podium.dev/owner: "payments"\n'
    project.write("teams/b/orders.score.yaml", score("orders", annotations=claim))
    for command in ("validate", "plan"):
        result = project.podium(command, "-e", "dev", "-f", "teams/b/orders.score.yaml")
        assert result.returncode == ExitCode.INVALID_INPUT, result.stderr
        assert "teams/b/orders.score.yaml:5:" in result.stderr
        assert "claims 'payments'" in result.stderr and "'intruders'" in result.stderr
    assert not (project.root / ".podium" / "dev" / "state.db").exists() or not project.state()[1]
    # A true claim is fine.
    project.write("teams/a/orders.score.yaml", score("orders", annotations=claim))
    project.ok("up", "-e", "dev", "-f", "teams/a/orders.score.yaml")


# ------------------------------------------------------------ state migration
def test_state_from_before_owners_is_adopted_by_its_files_owner(
    orders_of_payments: Project,
) -> None:
    """State as the previous Podium wrote it (schema 2, no owner column) keeps working."""
    project = orders_of_payments
    db_path = project.root / ".podium" / "dev" / "state.db"
    with sqlite3.connect(db_path) as db:
        db.execute("ALTER TABLE records DROP COLUMN owner")
        for column in ("epoch", "boot_id", "pid_namespace"):  # schema 4's lease fencing
            db.execute(f"ALTER TABLE lock DROP COLUMN {column}")
        db.execute("DELETE FROM meta WHERE key = 'epoch'")
        # Schema 2 kept the engine's bookkeeping inside spec (as the 0.1 keys).
        rows = db.execute("SELECT uid, spec, bookkeeping FROM records").fetchall()
        for uid, spec, bookkeeping in rows:
            fields = json.loads(bookkeeping)
            legacy = {k: fields[n] for k, n in LEGACY_BOOKKEEPING_KEYS.items() if n in fields}
            merged = json.dumps({**json.loads(spec), **legacy})
            db.execute("UPDATE records SET spec = ? WHERE uid = ?", (merged, uid))
        db.execute("ALTER TABLE records DROP COLUMN bookkeeping")
        # Schema 6's audit chain: one history row per entry again (its latest record).
        for event in ("update", "delete"):
            db.execute(f"DROP TRIGGER history_append_only_{event}")
        db.execute("DROP INDEX history_seq")
        db.execute("DROP INDEX history_entry")
        db.execute("DROP TABLE audit_head")
        db.execute(
            "DELETE FROM history WHERE id NOT IN (SELECT max(id) FROM history GROUP BY entry_id)"
        )
        db.execute("UPDATE history SET id = entry_id")
        for column in [c.split()[0] for c in audit_column_definitions()]:
            db.execute(f"ALTER TABLE history DROP COLUMN {column}")
        db.execute("PRAGMA user_version = 2")
    # Planning first does not let another team adopt it: its releases say where it came from.
    project.write("teams/b/orders.score.yaml", score("orders"))
    early = project.podium("up", "-e", "dev", "-f", "teams/b/orders.score.yaml")
    assert early.returncode == ExitCode.OWNERSHIP, early.stderr
    assert "owned by 'payments', not by 'intruders'" in early.stderr
    assert "before Podium recorded owners" in early.stderr
    assert len(project.dirs()) == 1 and set(project.state()[1].values()) == {None}
    plan = json.loads(
        project.ok("--json", "plan", "-e", "dev", "-f", "teams/a/orders.score.yaml").stdout
    )
    assert not [c for c in plan["changes"] if c["action"] != "no-op"]
    assert any("adopted by payments" in w for w in plan["warnings"])
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert set(project.state()[1].values()) == {None}  # a plan writes nothing
    project.ok("up", "-e", "dev", "-f", "teams/a/orders.score.yaml")
    assert set(project.state()[1].values()) == {"payments"}
    result = project.podium("up", "-e", "dev", "-f", "teams/b/orders.score.yaml")
    assert result.returncode == ExitCode.OWNERSHIP


def test_state_written_by_a_newer_podium_is_refused(orders_of_payments: Project) -> None:
    project = orders_of_payments
    db_path = project.root / ".podium" / "dev" / "state.db"
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = project.state()
    for command in ("plan", "up"):
        result = project.podium(command, "-e", "dev", "-f", "teams/a/orders.score.yaml")
        assert result.returncode == ExitCode.ERROR
        assert "written by a newer Podium" in result.stderr
        assert f"understands versions up to {SCHEMA_VERSION}" in result.stderr
    assert project.state() == before
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


# ----------------------------------------------------------------------- actor
def test_history_names_the_actor_from_podium_actor(orders_of_payments: Project) -> None:
    project = orders_of_payments
    project.write("teams/a/orders.score.yaml", score("orders", image="app:2", resources=ORDERS_DB))
    project.ok("up", "-e", "dev", "-f", "teams/a/orders.score.yaml", actor="alice@payments.test")
    [latest, first, *_] = project.history()
    assert latest["who"] == "alice@payments.test" and first["who"] == "ci@example.test"


def test_actor_falls_back_to_git_user_email_then_user_at_host(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    environ = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "GIT_CONFIG_NOSYSTEM": "1"}
    repo = tmp_path / "repo"
    repo.mkdir()
    assert "@" in actor(environ, repo)  # user@host: no git identity anywhere
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=environ)
    subprocess.run(
        ["git", "-C", str(repo), "config", "user.email", "dev@example.test"],
        check=True,
        env=environ,
    )
    assert actor(environ, repo) == "dev@example.test"
    assert actor({**environ, "PODIUM_ACTOR": "deploy-bot\n"}, repo) == "deploy-bot"


# ------------------------------------------------------------- owner mapping
def test_owner_mapping_teams_directories_and_ambiguity(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    teams = {"payments": TeamSection(paths=["teams/payments/**"])}
    assert owner_of_path(root / "teams/payments/api/score.yaml", root, teams) == "payments"
    assert owner_of_path(root / "score.yaml", root, teams) == "."
    assert owner_of_path(root / "services/web/score.yaml", root, teams) == "services/web"
    assert (
        owner_of_path(tmp_path.parent / "elsewhere" / "score.yaml", root, teams) == "../elsewhere"
    )
    overlapping = {**teams, "platform": TeamSection(paths=["teams/**"])}
    with pytest.raises(ConfigError, match="claimed by teams payments, platform"):
        owner_of_path(root / "teams/payments/score.yaml", root, overlapping)
    # A directory named like a team must not pass for the team.
    with pytest.raises(ConfigError, match="has the name of a team"):
        owner_of_path(root / "payments" / "score.yaml", root, teams)


def test_score_text_without_a_file_needs_an_owner_from_its_caller(tmp_path: Path) -> None:
    text = score("api-orders", resources=ORDERS_DB)
    config = {
        "platform": {"name": "api"},
        "environments": {"dev": {"deployer": "fake-deployer"}},
        "rules": [{"type": "volume", "provisioner": "fake-dir"}],
    }
    with Platform(
        config, root=tmp_path, plugins=[("fake", fake_plugin())], load_entrypoints=False
    ) as platform:
        with pytest.raises(WorkloadError, match="nothing trusted says who owns it"):
            platform.plan("dev", [load_workload_text(text)])
        claimed = text.replace(
            "  name: api-orders\n",
            "  name: api-orders\n  annotations:\n    podium.dev/owner: root\n",
        )
        with pytest.raises(WorkloadError, match="claims 'root'"):
            platform.plan("dev", [load_workload_text(claimed)], owner="team-x")
        _plan, result = platform.up("dev", [load_workload_text(text)], owner="team-x")
        assert result.ok
        assert {r.owner for r in platform.store("dev").records()} == {"team-x"}
        with pytest.raises(OwnershipError) as raised:
            platform.destroy("dev", workloads=["api-orders"], owner="team-y")
        assert (raised.value.owner, raised.value.recorded_owner) == ("team-y", "team-x")
        assert platform.destroy("dev", workloads=["api-orders"], owner="team-x")[1].ok


def test_import_cannot_overwrite_another_owners_record(orders_of_payments: Project) -> None:
    project = orders_of_payments
    intruder = project.write("teams/b/orders.score.yaml", score("orders", resources=ORDERS_DB))
    before = project.state()
    with Platform.from_file(
        project.root / "podium.toml", plugins=[("fake", fake_plugin())], load_entrypoints=False
    ) as platform:
        with pytest.raises(OwnershipError) as raised:
            platform.import_resource("dev", [intruder], "volume.default#orders.db", "elsewhere")
        assert (raised.value.owner, raised.value.recorded_owner) == ("intruders", "payments")
    assert project.state() == before
