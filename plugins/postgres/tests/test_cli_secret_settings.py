"""The DSN's password never appears in anything the CLI prints (issue 14, item 7).

Every command of the click tree runs for real (subprocesses, state in a real
PostgreSQL), plainly and with ``--json``, with a DSN whose password is a canary
in both ``[plugins.postgres] dsn`` and ``[state] options.dsn``; then again
against a server that is down and with a DSN that does not parse, so the error
paths print too. stdout and stderr of all of them must not hold the canary.
A command added to the CLI later fails this test until it is listed here.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cli_project import Project, config

CANARY = "pwCanary7f3e9d"
NODE = "note.default#web.memo"

#: Run in this order (later steps need what earlier ones made). Each command of
#: the tree must appear at least once with --json and once without.
STEPS: list[tuple[str, ...]] = [
    ("validate",),
    ("--json", "validate"),
    ("schema", "platform"),
    ("--json", "schema", "platform"),
    ("schema", "workload"),
    ("--json", "schema", "workload"),
    ("schema", "plan"),
    ("--json", "schema", "plan"),
    ("schema", "resource", "note"),
    ("--json", "schema", "resource", "note"),
    ("plugins", "list"),
    ("--json", "plugins", "list"),
    ("plugins", "info", "postgres"),
    ("--json", "plugins", "info", "postgres"),
    ("--debug", "plugins", "info", "postgres"),
    ("plugins", "lock"),
    ("--json", "plugins", "lock"),
    ("doctor",),
    ("--json", "doctor"),
    ("--debug", "doctor"),
    ("plan",),
    ("--json", "plan"),
    ("--debug", "plan", "--out", "plan.json"),
    ("apply", "plan.json"),
    ("up", "--yes"),
    ("--json", "up", "--yes"),
    ("status",),
    ("--json", "status", "web"),
    ("logs", "web"),
    ("--json", "logs", "web"),
    ("outputs",),
    ("--json", "outputs", NODE),
    ("history",),
    ("--json", "history"),
    ("audit", "list"),
    ("--json", "audit", "list"),
    ("audit", "verify"),
    ("--json", "audit", "verify"),
    ("catalog", "export"),
    ("--json", "catalog", "export", "--out", "catalog"),
    ("state", "list"),
    ("--json", "state", "list"),
    ("state", "show", NODE),
    ("--json", "state", "show", NODE),
    ("state", "unlock"),
    ("--json", "state", "unlock"),
    ("state", "intents"),
    ("--json", "state", "intents"),
    ("state", "resolve", NODE, "--retry"),  # nothing pending: an error, still no canary
    ("--json", "state", "resolve", NODE, "--gone"),
    ("secrets", "set", "greeting", "--value", "hello"),
    ("--json", "secrets", "set", "farewell", "--value", "bye"),
    ("secrets", "list"),
    ("--json", "secrets", "list"),
    ("secrets", "get", "greeting"),
    ("--json", "secrets", "get", "greeting"),
    ("secrets", "delete", "greeting"),
    ("--json", "secrets", "delete", "farewell"),
    ("state", "rekey"),
    ("--json", "state", "rekey"),
    ("render", "--out", "rendered"),  # this deployer cannot render: an error, still no canary
    ("--json", "render", "--out", "rendered"),
    ("ci", "generate", "github", "--out", "pipelines"),
    ("--json", "ci", "generate", "gitlab", "--out", "pipelines"),
    ("tokens", "create", "--team", "web", "--role", "viewer"),
    ("--json", "tokens", "create", "--team", "web", "--role", "developer"),
    ("tokens", "list"),
    ("--json", "tokens", "list"),
    ("tokens", "revoke", "no-such-token"),
    ("--json", "tokens", "revoke", "no-such-token"),
    ("serve", "--port", "0"),  # run by _run_all until it answers, then stopped
    ("--json", "serve", "--port", "0"),
    ("new", "--list"),
    ("--json", "new", "--list"),
    ("template", "update", "authoring"),  # not a generated service: an error, no canary
    ("--json", "template", "update", "authoring"),
    ("rollback", "web"),
    ("--json", "rollback", "web"),
    ("state", "forget", NODE),
    ("--json", "state", "import", NODE, "{physical}"),
    ("--json", "state", "forget", NODE),
    ("state", "import", NODE, "{physical}"),
    ("--json", "apply"),
    ("destroy", "--yes"),
    ("--json", "destroy", "--yes"),
    ("init", "new-platform"),
    ("--json", "init", "other-platform"),
    ("plugin", "new", "gadget", "--dir", "authoring"),
    ("--json", "plugin", "new", "widget", "--dir", "authoring"),
]

#: These must succeed: the canary check means little if nothing ran.
MUST_PASS = {
    ("--json", "plugins", "info", "postgres"),
    ("plugins", "info", "postgres"),
    ("doctor",),
    ("apply", "plan.json"),
    ("--json", "up", "--yes"),
    ("--json", "state", "list"),
    ("audit", "verify"),
    ("--json", "catalog", "export", "--out", "catalog"),
    ("ci", "generate", "github", "--out", "pipelines"),
    ("tokens", "create", "--team", "web", "--role", "viewer"),
    ("--json", "tokens", "list"),
    ("serve", "--port", "0"),
    ("--json", "serve", "--port", "0"),
    ("state", "rekey"),
    ("--json", "state", "rekey"),
    ("--json", "state", "import", NODE, "{physical}"),
    ("state", "import", NODE, "{physical}"),
    ("destroy", "--yes"),
}

#: Against a server that is down, and with a DSN libpq cannot parse.
ERROR_STEPS: list[tuple[str, ...]] = [
    ("plan",),
    ("--json", "plan"),
    ("--debug", "up", "--yes"),
    ("doctor",),
    ("--json", "doctor"),
    ("state", "list"),
    ("--json", "status"),
    ("history",),
    ("--json", "outputs"),
    ("--json", "plugins", "info", "postgres"),
]


def command_paths() -> set[tuple[str, ...]]:
    """Every leaf command of the CLI, as the words that invoke it, read from ``--help``.

    The public interface (the help text) rather than the click objects, which are
    the core's inside: a group's help has a ``Commands:`` section, a leaf's has none.
    """

    def subcommands(path: tuple[str, ...]) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "podium", "--no-plugins", *path, "--help"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        _, heading, listing = done.stdout.partition("\nCommands:\n")
        return re.findall(r"^  (\S+)", listing, re.M) if heading else []

    found: set[tuple[str, ...]] = set()
    with ThreadPoolExecutor(max_workers=4) as pool:
        groups = [()]
        while groups:
            children = pool.map(subcommands, groups)
            nested: list[tuple[str, ...]] = []
            for group, names in zip(groups, children, strict=True):
                paths = [(*group, name) for name in names]
                if group and not names:
                    found.add(group)
                nested += paths
            groups = nested
    return found


def _words(step: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(word for word in step if word not in ("--json", "--debug"))


def _run_all(project: Project, steps: list[tuple[str, ...]]) -> dict[tuple[str, ...], str]:
    printed: dict[tuple[str, ...], str] = {}
    for step in steps:
        notes = project.world / "notes"
        physical = next(iter(sorted(p.name for p in notes.iterdir())), "") if notes.exists() else ""
        words = [word.replace("{physical}", physical) for word in step]
        if "serve" in words:
            printed[step] = _serve_briefly(project, words)
            continue
        done = project.run(*words)
        printed[step] = f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return printed


def _serve_briefly(project: Project, words: list[str]) -> str:
    """Run ``podium serve`` until it answers its health and environments endpoints (with a
    token of its own), then stop it with SIGTERM; what it printed and answered, as for a
    command that exits ("exit 0" when it stopped cleanly)."""
    import json
    import signal
    import time
    import urllib.request

    token = project.run("--json", "tokens", "create", "--team", "web", "--role", "admin")
    secret = json.loads(token.stdout)["token"] if token.returncode == 0 else ""
    server = subprocess.Popen(
        [sys.executable, "-m", "podium", *words],
        cwd=project.root,
        env=project.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    lines: list[str] = []
    answered: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            url = found.group(1).rstrip("/")  # ends in /api/v1
            for path in ("/health", "/environments"):
                request = urllib.request.Request(
                    url + path, headers={"Authorization": f"Bearer {secret}"}
                )
                with urllib.request.urlopen(request, timeout=30) as response:
                    answered.append(f"{path} {response.status} {response.read().decode()}")
            break
    server.send_signal(signal.SIGTERM)
    rest, _ = server.communicate(timeout=60)
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly.
    code = 0 if server.returncode == -signal.SIGTERM else server.returncode
    return f"exit {code}\n{''.join(lines)}{rest}\n" + "\n".join(answered)


def _assert_no_canary(printed: dict[tuple[str, ...], str]) -> None:
    leaks = [" ".join(step) for step, text in printed.items() if CANARY in text]
    assert not leaks, f"the DSN password was printed by: {leaks}"


def test_every_command_is_covered_with_and_without_json() -> None:
    covered: dict[tuple[str, ...], set[bool]] = {}
    for step in STEPS:
        words = _words(step)
        for length in range(len(words), 0, -1):
            covered.setdefault(words[:length], set()).add("--json" in step)
    missing = [
        " ".join(path) for path in sorted(command_paths()) if covered.get(path) != {True, False}
    ]
    assert not missing, f"add these commands to STEPS (plain and --json): {missing}"


def test_no_command_prints_the_dsn_password(tmp_path: Path, dsn: str, schema: str) -> None:
    secret_dsn = dsn.replace("postgres@", f"postgres:{CANARY}@", 1)
    assert CANARY in secret_dsn
    project = Project(tmp_path / "platform", config(secret_dsn, schema))
    printed = _run_all(project, STEPS)
    failed = {" ".join(s): printed[s] for s in MUST_PASS if not printed[s].startswith("exit 0")}
    assert not failed, failed
    # The DSN is shown, with its password masked, where settings are shown.
    info = printed[("plugins", "info", "postgres")]
    assert "postgres:***@127.0.0.1" in info
    assert "pg_lock_timeout: 30.0" in info
    assert (project.world / "notes").is_dir()  # the commands really did something
    _assert_no_canary(printed)


def test_error_paths_never_print_the_dsn_password(tmp_path: Path, schema: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    down = f"postgresql://podium:{CANARY}@127.0.0.1:{port}/teamstate?connect_timeout=2"
    project = Project(tmp_path / "down", config(down, schema))
    printed = _run_all(project, ERROR_STEPS)
    assert "unreachable" in printed[("plan",)]
    assert f"postgresql://127.0.0.1:{port}/teamstate" in printed[("plan",)]
    unparsable = f"host=127.0.0.1 password={CANARY} unterminated='"
    project = Project(tmp_path / "garbled", config(unparsable, schema))
    garbled = _run_all(project, ERROR_STEPS)
    assert "not a valid PostgreSQL connection string" in garbled[("plan",)]
    _assert_no_canary({**printed, **{("garbled", *k): v for k, v in garbled.items()}})


def test_settings_show_the_dsn_masked_in_repr_str_json_and_redact() -> None:
    from podium.plugin import redact
    from podium_postgres.settings import Settings

    settings = Settings(dsn=f"postgresql://podium:{CANARY}@db.internal/platform?sslmode=require")
    shown = [
        repr(settings),
        str(settings.dsn),
        settings.model_dump_json(),
        str(redact(settings.model_dump(mode="python"))),
    ]
    for text in shown:
        assert CANARY not in text
        assert "podium:***@db.internal/platform?sslmode=require" in text
    assert settings.dsn is not None and CANARY in settings.dsn.get_secret_value()
    keyword = Settings(dsn=f"host=db user=podium password={CANARY}")
    assert CANARY not in str(keyword.dsn) and "password=***" in str(keyword.dsn)
