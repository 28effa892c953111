"""State integrity (issue 10, item 7), each attack or fault run through the real CLI.

A damaged state file, a lost key file and a wrong key are refused before
anything is created; the state root is private whatever command runs first;
``podium validate`` writes nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_project import CliProject, install_plugin

from podium.security.crypto import generate_key
from podium.security.key_check import KEY_CHECK_NAME, KEY_CHECK_NODE

HERE = Path(__file__).parent
# podium-local's event sink writes events.jsonl under the state root too; the core's own
# test environment runs without it.
HAS_LOCAL = importlib.util.find_spec("podium_local") is not None

CONFIG = """\
[platform]
name = "trust"
workloads = ["*.score.yaml"]

[plugins]
allow = ["recorder"{local}]

[environments.dev]
deployer = "recording-deployer"

[[rules]]
type = "postgres"
provisioner = "recording-db"

[telemetry]
jsonl = true
sinks = [{sinks}]
"""

SHOP = """\
apiVersion: score.dev/v1b1
metadata:
  name: shop
containers:
  main:
    image: example/shop:1.0
    variables:
      DB_PASSWORD: ${resources.db.password}
resources:
  db:
    type: postgres
"""

EXTRA_RESOURCE = """\
  orders:
    type: postgres
"""


class Project(CliProject):
    """A platform directory with the recording plugin installed for real (a dist-info on a path).

    The child keeps this process's environment but for the state key and the record file.
    """

    strip = ("PODIUM_STATE_KEY", "RECORD_FILE")

    def __init__(self, root: Path) -> None:
        super().__init__(root, root.parent / f"{root.name}-site")
        self.record_file = root.parent / f"{root.name}-record.txt"
        source = (HERE / "recording_platform.py").read_text()
        install_plugin(self.site, "recorder", source, module="recording_platform")
        root.mkdir(parents=True)
        (root / "podium.toml").write_text(
            CONFIG.format(
                local=', "local"' if HAS_LOCAL else "", sinks='"local-events"' if HAS_LOCAL else ""
            )
        )
        (root / "shop.score.yaml").write_text(SHOP)

    @property
    def state_root(self) -> Path:
        return self.root / ".podium"

    @property
    def state_db(self) -> Path:
        return self.state_root / "dev" / "state.db"

    @property
    def key_file(self) -> Path:
        return self.state_root / "key"

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(**{"RECORD_FILE": str(self.record_file), **extra})

    def recorded(self) -> list[str]:
        if not self.record_file.exists():
            return []
        return self.record_file.read_text().splitlines()

    def add_resource(self) -> None:
        score = self.root / "shop.score.yaml"
        score.write_text(score.read_text() + EXTRA_RESOURCE)

    def snapshot(self) -> dict[str, bytes | None]:
        """Every file under the state root and its bytes (None for the key: compared by name)."""
        if not self.state_root.exists():
            return {}
        return {
            str(p.relative_to(self.state_root)): p.read_bytes()
            for p in sorted(self.state_root.rglob("*"))
            if p.is_file() and p.suffix != ".jsonl" and not p.name.endswith(("-wal", "-shm"))
        }


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "platform")


def _refused(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr


def _serial(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return int(con.execute("SELECT value FROM meta WHERE key = 'serial'").fetchone()[0])


# ----------------------------------------------------------------- damaged state file
@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
        (lambda p: p.write_bytes(os.urandom(8192)), "is damaged (it is not a SQLite database)"),
        (lambda p: (p.unlink(), p.mkdir()), "is damaged (it is not a regular file)"),
    ],
    ids=["truncated-to-0-bytes", "garbage", "a-directory"],
)
@pytest.mark.parametrize("command", ["status", "plan", "up", "state list", "outputs"])
def test_damaged_state_file_is_an_error_never_a_fresh_environment(
    project: Project, damage: Any, says: str, command: str
) -> None:
    project.ok("up")
    created = project.recorded()
    assert created == [f"create {created[0].split()[1]}", "deploy shop"]
    for suffix in ("-wal", "-shm"):
        Path(f"{project.state_db}{suffix}").unlink(missing_ok=True)
    damage(project.state_db)
    before = sorted(p.name for p in project.state_db.parent.iterdir())

    error = _refused(project.podium(*command.split()))

    assert f"state database {project.state_db} {says}" in error
    assert "restore" in error and "from a backup" in error and "to start afresh" in error
    assert "No workloads deployed" not in error
    assert project.recorded() == created  # nothing planned as new, nothing created again
    assert sorted(p.name for p in project.state_db.parent.iterdir()) == before
    if project.state_db.is_file():
        assert project.state_db.stat().st_size == (0 if "empty" in says else 8192)


def test_deleting_the_damaged_file_is_the_documented_fresh_start(project: Project) -> None:
    project.ok("up")
    project.state_db.write_bytes(b"")
    _refused(project.podium("status"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{project.state_db}{suffix}").unlink(missing_ok=True)
    assert "No workloads deployed" in project.ok("status").stdout


def test_new_environment_without_a_state_file_is_a_fresh_start(project: Project) -> None:
    assert "No workloads deployed" in project.ok("status").stdout
    plan = json.loads(project.ok("--json", "plan").stdout)
    assert plan["counts"]["create"] >= 2 and plan["counts"]["no-op"] == 0


@pytest.mark.parametrize("garbage", [b"", b"not a database at all" * 100], ids=["empty", "garbage"])
def test_damaged_secret_store_is_an_error_never_a_new_store(
    project: Project, garbage: bytes
) -> None:
    project.ok("secrets", "set", "api-token", "--value", "s3cr3t")
    secrets_db = project.state_root / "secrets.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{secrets_db}{suffix}").unlink(missing_ok=True)
    secrets_db.write_bytes(garbage)
    for args in (("secrets", "get", "api-token"), ("secrets", "set", "other", "--value", "x")):
        error = _refused(project.podium(*args))
        assert f"secret store {secrets_db} is" in error and "from a backup" in error
    assert secrets_db.read_bytes() == garbage


# ------------------------------------------------------------------------ lost key file
@pytest.mark.parametrize("command", ["up", "outputs", "state show deployment:shop"])
def test_deleted_key_file_with_existing_state_is_an_error_not_a_new_key(
    project: Project, command: str
) -> None:
    project.ok("up")
    project.add_resource()
    created = project.recorded()
    project.key_file.unlink()

    error = _refused(project.podium(*command.split()))

    assert f"key file {project.key_file} does not exist" in error
    assert "trust/dev is sealed with a key" in error and "PODIUM_STATE_KEY" in error
    assert not project.key_file.exists()  # never regenerated
    assert project.recorded() == created


def test_plan_needs_no_key_and_never_makes_one_for_existing_state(project: Project) -> None:
    # A pull-request pipeline plans without the state key (saved plans are verified at apply).
    project.ok("up")
    project.add_resource()
    project.key_file.unlink()
    project.ok("plan")
    assert not project.key_file.exists()


def test_deleted_key_file_with_stored_secrets_is_an_error_not_a_new_key(project: Project) -> None:
    project.ok("secrets", "set", "api-token", "--value", "s3cr3t")
    project.key_file.unlink()
    for args in (
        ("secrets", "get", "api-token", "--reveal"),
        ("secrets", "set", "b", "--value", "x"),
    ):
        error = _refused(project.podium(*args))
        assert f"key file {project.key_file} does not exist" in error
        assert "secrets.db" in error
        assert not project.key_file.exists()


def test_state_sealed_with_the_env_key_is_not_given_a_new_key_file(project: Project) -> None:
    project.ok("up", PODIUM_STATE_KEY=generate_key())
    created = project.recorded()
    error = _refused(project.podium("up"))  # the variable forgotten in the next shell
    assert f"key file {project.key_file} does not exist" in error
    assert not project.key_file.exists()
    assert project.recorded() == created


# --------------------------------------------------------------------------- wrong key
def test_wrong_env_key_is_refused_before_anything_is_created(project: Project) -> None:
    right, wrong = generate_key(), generate_key()
    project.ok("up", PODIUM_STATE_KEY=right)
    assert not project.key_file.exists()
    project.add_resource()
    created = project.recorded()
    serial = _serial(project.state_db)
    files = project.snapshot()

    for command in (("up",), ("outputs",), ("destroy", "--yes")):
        error = _refused(project.podium(*command, PODIUM_STATE_KEY=wrong))
        assert "the state key from $PODIUM_STATE_KEY does not match the state of trust/dev" in error
        assert wrong not in error and right not in error  # names the source, never the key

    assert project.recorded() == created  # the new database was not created
    assert _serial(project.state_db) == serial
    assert project.snapshot() == files
    assert not project.key_file.exists()
    # the right key still works, and now creates the new resource
    project.ok("up", PODIUM_STATE_KEY=right)
    assert len(project.recorded()) == len(created) + 2


def test_key_file_from_another_platform_is_refused_naming_the_file(
    project: Project, tmp_path: Path
) -> None:
    project.ok("up")
    other = Project(tmp_path / "other")
    other.ok("up")
    shutil.copy(other.key_file, project.key_file)
    project.add_resource()
    created = project.recorded()

    error = _refused(project.podium("up"))

    assert f"the state key from {project.key_file} does not match the state of trust/dev" in error
    assert f"restore the key file {project.key_file}" in error
    assert project.recorded() == created


def test_wrong_key_for_the_secret_store_stores_nothing(project: Project) -> None:
    right, wrong = generate_key(), generate_key()
    project.ok("secrets", "set", "a", "--value", "one", PODIUM_STATE_KEY=right)
    error = _refused(
        project.podium("secrets", "set", "b", "--value", "two", PODIUM_STATE_KEY=wrong)
    )
    assert "$PODIUM_STATE_KEY does not match the state of the secret store" in error
    listed = project.ok("--json", "secrets", "list", PODIUM_STATE_KEY=right)
    assert json.loads(listed.stdout) == ["a"]


def test_state_written_before_key_checks_gets_one_on_first_open(project: Project) -> None:
    right, wrong = generate_key(), generate_key()
    project.ok("up", PODIUM_STATE_KEY=right)
    _drop_key_check(project.state_db)
    # Old state holding sealed secrets: a wrong key is still caught (it cannot open them)
    # and the wrong key is not written down as the check.
    error = _refused(project.podium("outputs", PODIUM_STATE_KEY=wrong))
    assert "$PODIUM_STATE_KEY does not match" in error
    assert _key_check(project.state_db) is None
    project.ok("outputs", PODIUM_STATE_KEY=right)
    assert _key_check(project.state_db) is not None  # migrated: the right key's check
    error = _refused(project.podium("up", PODIUM_STATE_KEY=wrong))
    assert "does not match" in error


def _key_check(db: Path) -> str | None:
    with sqlite3.connect(db) as con:
        row = con.execute(
            "SELECT token FROM generated WHERE node = ? AND key = ?",
            (KEY_CHECK_NODE, KEY_CHECK_NAME),
        ).fetchone()
    return None if row is None else str(row[0])


def _drop_key_check(db: Path) -> None:
    con = sqlite3.connect(db)
    with con:
        con.execute("DELETE FROM generated WHERE node = ?", (KEY_CHECK_NODE,))
    con.close()


# ------------------------------------------------------------------------- permissions
def _modes(root: Path) -> dict[str, str]:
    """Every path under ``root`` (and root) whose mode is not 0700 (dirs) / 0600 (files)."""
    wrong: dict[str, str] = {}
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        expected = 0o700 if path.is_dir() else 0o600
        if mode != expected:
            wrong[str(path.relative_to(root.parent))] = f"{mode:04o}"
    return wrong


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask-022", "umask-000"])
@pytest.mark.parametrize(
    "first",
    ["plan", "up", "status", "secrets set k --value v", "outputs", "history", "state list"],
)
def test_state_root_is_private_whatever_command_runs_first(
    project: Project, first: str, umask: int
) -> None:
    # Only the child's umask: the point is that the result does not depend on it.
    result = project.podium(*first.split(), umask=umask)
    assert result.returncode == 0, result.stderr
    if first != "up":
        result = project.podium("up", umask=umask)  # then everything a deploy writes
        assert result.returncode == 0, result.stderr
    names = {p.name for p in project.state_root.rglob("*")}
    assert {"state.db", "key", "spans.jsonl", *(["events.jsonl"] if HAS_LOCAL else [])} <= names
    assert _modes(project.state_root) == {}


def test_private_files_are_made_private_in_process_too(tmp_path: Path) -> None:
    from podium.security.private_files import (
        create_private_file,
        make_private_dir,
        open_private_append,
    )

    old = os.umask(0)  # the most permissive umask a caller could have set
    try:
        make_private_dir(tmp_path / "a" / "b" / "c")
        assert create_private_file(tmp_path / "a" / "x" / "f")
        assert not create_private_file(tmp_path / "a" / "x" / "f")
        with open_private_append(tmp_path / "a" / "y" / "log.jsonl") as handle:
            handle.write("{}\n")
    finally:
        os.umask(old)
    assert _modes(tmp_path / "a") == {}


# ----------------------------------------------------------------------------- validate
def test_validate_writes_nothing_through_the_cli(project: Project) -> None:
    result = project.ok("validate")
    assert "valid: 1 workload file(s)" in result.stdout
    assert not project.state_root.exists()
    assert sorted(p.name for p in project.root.iterdir()) == ["podium.toml", "shop.score.yaml"]


def test_validate_writes_nothing_through_the_api(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podium import Platform
    from podium.plugins.discovery import clear_cache

    monkeypatch.syspath_prepend(str(project.site))
    monkeypatch.delenv("PODIUM_STATE_KEY", raising=False)
    # Entry points are cached per process: forget what earlier tests discovered, before and after.
    clear_cache()
    try:
        with Platform.from_file(project.root / "podium.toml") as platform:
            findings = platform.validate("dev", [project.root / "shop.score.yaml"])
            assert all(f.level != "mandatory" for f in findings)
    finally:
        clear_cache()
    assert not project.state_root.exists()


def test_validate_on_damaged_state_still_validates_and_touches_nothing(project: Project) -> None:
    project.ok("up")
    project.state_db.write_bytes(b"")
    project.key_file.unlink()
    project.ok("validate")
    assert project.state_db.stat().st_size == 0
    assert not project.key_file.exists()
