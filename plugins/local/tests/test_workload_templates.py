"""The golden paths podium-local ships, deployed as generated, then kept current.

``podium new python-web`` (the older version) deploys with ``podium up`` against a real
PostgreSQL and answers HTTP; the author edits the service; ``podium template update``
brings in the newer version with the edits kept, and the next ``up`` runs it.
``podium new worker`` consumes a job pushed into its real redis queue.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import usable_by_others

pytestmark = [pytest.mark.slow]


@pytest.fixture
def base() -> Iterator[Path]:
    # As root the apps run as the environment's own user, who must reach the app files.
    base = Path(tempfile.mkdtemp(prefix="podium-golden-", dir="/var/tmp"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def podium(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "GIT_"))}
    # copier's template mirror goes into the test's directory, not the user's cache
    top = next(p for p in (cwd, *cwd.parents) if p.name.startswith("podium-golden-"))
    env["XDG_CACHE_HOME"] = str(top / "cache")
    return subprocess.run(
        [sys.executable, "-m", "podium", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def git(directory: Path, *args: str) -> str:
    identity = ["-c", "user.name=Author", "-c", "user.email=author@example.com"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=directory, capture_output=True, text=True, check=True
    )
    return done.stdout


def scaffold(base: Path, template: str, name: str, *options: str) -> Path:
    ok(podium(base, "new", template, name, *options))
    service = base / name
    if os.geteuid() == 0 and not usable_by_others(sys.executable):
        # This Python (with psycopg and redis) lives where other users cannot run it
        # (pyenv under /root): the documented single-tenant setting is the way out.
        with (service / "podium.toml").open("a") as config:
            config.write('\n[plugins.local]\nworkload_user = "root"\n')
        git(service, "commit", "-qam", "run as root on this test machine")
    return service


def get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def status(service: Path) -> dict[str, Any]:
    (only,) = json.loads(ok(podium(service, "--json", "status")))
    return only  # type: ignore[no-any-return]


@pytest.mark.postgres
def test_python_web_deploys_as_generated_and_takes_a_template_update(base: Path) -> None:
    service = scaffold(base, "python-web", "payments", "--version", "1.0.0")
    try:
        ok(podium(service, "validate"))
        ok(podium(service, "up", "--yes"))
        first = status(service)
        assert first["state"] == "ready" and first["template"] == "python-web 1.0.0"
        url = first["urls"][0]
        assert get(url + "/") == {"greeting": "Hello from payments", "visits": 1}
        assert get(url + "/health") == {"status": "ok"}

        # The author makes the service theirs.
        score = service / "score.yaml"
        score.write_text(
            score.read_text().replace("Hello from payments", "Payments, at your service")
        )
        main = service / "app" / "main.py"
        main.write_text(
            main.read_text().replace(
                'ROUTES = {"/": visit, "/health": health}',
                'ROUTES = {"/": visit, "/health": health, "/team": lambda: {"team": "payments"}}',
            )
        )
        git(service, "commit", "-qam", "payments changes")

        report = json.loads(ok(podium(service, "--json", "template", "update")))
        assert (report["from_version"], report["to_version"]) == ("1.0.0", "1.1.0")
        assert report["conflicts"] == []
        text = score.read_text()
        assert "livenessProbe" in text  # the template's change
        assert "Payments, at your service" in text  # the author's, kept
        assert '"/team"' in main.read_text()
        assert (service / "README.md").read_text().startswith("# payments (python-web service)")
        git(service, "commit", "-qam", "python-web 1.1.0")

        ok(podium(service, "up", "--yes"))
        after = status(service)
        assert after["state"] == "ready" and after["template"] == "python-web 1.1.0"
        url = after["urls"][0]
        assert get(url + "/") == {"greeting": "Payments, at your service", "visits": 2}
        assert get(url + "/team") == {"team": "payments"}
    finally:
        ok(podium(service, "destroy", "--yes"))


@pytest.mark.redis
def test_worker_consumes_its_queue_as_generated(base: Path) -> None:
    import redis

    service = scaffold(base, "worker", "mailer")
    try:
        ok(podium(service, "up", "--yes"))
        shown = status(service)
        assert shown["state"] == "ready" and shown["template"] == "worker 1.0.0"
        outputs = json.loads(ok(podium(service, "--json", "outputs", "--show-secrets")))
        (queue,) = [values for values in outputs.values() if "key_prefix" in values]
        client = redis.Redis(
            host=queue["host"],
            port=int(queue["port"]),
            username=queue["username"],
            password=queue["password"],
            decode_responses=True,
        )
        client.rpush(queue["key_prefix"] + "jobs", json.dumps({"text": "welcome mail"}))
        deadline = time.monotonic() + 60
        while client.get(queue["key_prefix"] + "done") != "1":
            assert time.monotonic() < deadline, ok(podium(service, "logs", "mailer"))
            time.sleep(0.2)
        assert "handled {'text': 'welcome mail'}" in ok(podium(service, "logs", "mailer"))
    finally:
        ok(podium(service, "destroy", "--yes"))
