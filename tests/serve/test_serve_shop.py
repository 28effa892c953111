"""The issue's "done when", end to end: a new user serves the shop example and deploys it
from the browser.

``podium serve`` runs on a copy of examples/shop (podium-local: real PostgreSQL, Redis
and supervised processes); the user creates a token with ``podium tokens create``,
signs in through Debian's chromium, plans the platform's workloads, applies, watches
the live run page finish and sees both workloads ready with the shop answering on its
URL. Each step is a screenshot (saved under ``$PODIUM_TEST_ARTIFACTS/shop``, else the
test's temp directory) whose page text is checked. Then everything is destroyed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Served, start_browser, wait_run

from podium.testing import unavailable

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WORKLOADS = ("shop-web", "shop-worker")


def _require_servers() -> None:
    """podium-local and the servers it runs; under CI a missing one fails the test."""
    missing = []
    try:
        from podium_local.binaries import postgres_bin_dirs
    except ImportError:
        missing.append("podium-local")
    else:
        if not any((Path(d) / "initdb").is_file() for d in postgres_bin_dirs()) and not (
            shutil.which("initdb")
        ):
            missing.append("initdb (postgresql)")
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    if missing:
        unavailable("the shop needs " + ", ".join(missing))


def _others_may_run(path: str) -> bool:
    """Whether another user can reach and run ``path`` (every directory on the way open)."""
    for candidate in {os.path.abspath(path), os.path.realpath(path)}:
        for parent in Path(candidate).parents:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
    return bool(os.stat(os.path.realpath(path)).st_mode & stat.S_IXOTH)


class Shop:
    """A copy of examples/shop that ``Served`` and the CLI run in (no fake plugin)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        return {**env, "NO_COLOR": "1", **extra}

    def podium(self, *args: str) -> str:
        import subprocess

        done = subprocess.run(
            [sys.executable, "-m", "podium", *args],
            cwd=self.root,
            env=self.env(PODIUM_ACTOR="newcomer@shop"),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"podium {' '.join(args)}: {done.stderr}"
        return done.stdout


@pytest.fixture
def shop() -> Iterator[Shop]:
    _require_servers()
    # As root the apps run as the environment's own user, who must reach the app files:
    # a directory other users may traverse (pytest's tmp_path is private to root).
    base = Path(tempfile.mkdtemp(prefix="podium-serve-shop-", dir="/var/tmp"))
    base.chmod(0o755)
    target = base / "shop"
    shutil.copytree(EXAMPLES / "shop", target, ignore=shutil.ignore_patterns(".podium"))
    if os.geteuid() == 0 and not _others_may_run(sys.executable):
        # This Python (with the shop's drivers) is private to root (pyenv, tox under
        # /root): the documented single-tenant setting, as podium-local's own e2e does.
        with (target / "podium.toml").open("a") as config:
            config.write('\n[plugins.local]\nworkload_user = "root"\n')
    made = Shop(target)
    try:
        yield made
    finally:
        try:  # whatever the test left running: the CLI's destroy stops every server
            made.podium("destroy", "-e", "dev", "--yes")
        finally:
            shutil.rmtree(base, ignore_errors=True)


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=10) as answer:
        return dict(json.loads(answer.read()))


def test_a_new_user_deploys_the_shop_from_the_console(shop: Shop, tmp_path: Path) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("PODIUM_TEST_ARTIFACTS") or tmp_path) / "shop"
    shots.mkdir(parents=True, exist_ok=True)
    served = Served(shop)  # type: ignore[arg-type]  # duck-typed: root and env()
    pages: list[str] = []
    try:
        token = shop.podium("tokens", "create", "--team", "shop", "--role", "admin").strip()
        assert token.startswith("pdm_")
        base = served.url.removesuffix("/api/v1")
        browser = start_browser()

        def shot(name: str, *expected: str) -> str:
            text: str = browser.find_element(By.TAG_NAME, "body").text
            for words in expected:
                assert words in text, f"{name}: {words!r} not shown:\n{text}"
            path = shots / f"{name}.png"
            assert browser.save_screenshot(str(path))
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000
            pages.append(browser.page_source)
            return text

        try:
            # htmx swaps the run's fragment in place: an element found may go stale
            wait = WebDriverWait(browser, 240, ignored_exceptions=(StaleElementReferenceException,))
            browser.get(base + "/")
            shot("1-sign-in", "Sign in")
            browser.find_element(By.NAME, "token").send_keys(token)
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait.until(until.presence_of_element_located((By.LINK_TEXT, "dev"))).click()
            wait.until(until.presence_of_element_located((By.ID, "plan-platform")))
            shot("2-environment", "nothing deployed", "Plan the platform's workloads", *WORKLOADS)
            browser.find_element(By.ID, "plan-platform").click()
            wait.until(until.presence_of_element_located((By.ID, "apply")))
            shot("3-plan", "deployment:shop-web", "deployment:shop-worker", "postgres")
            browser.find_element(By.ID, "apply").click()
            wait.until(until.presence_of_element_located((By.ID, "status")))
            run_url = browser.current_url
            shot("4-run-started", "apply in dev")
            # The page refreshes itself (htmx) while the run goes: node events appear.
            wait.until(
                lambda b: (
                    "deployment:shop-web" in b.find_element(By.ID, "run").text
                    or b.find_element(By.ID, "status").text not in ("queued", "running")
                )
            )
            shot("5-run-progress", "deployment:shop-web")
            wait.until(lambda b: b.find_element(By.ID, "status").text not in ("queued", "running"))
            shot("6-run-finished", "Status: succeeded", "deployment:shop-web", "node.succeeded")
            browser.find_element(By.LINK_TEXT, "dev").click()
            wait.until(until.presence_of_element_located((By.CLASS_NAME, "ready")))
            page = shot("7-ready", *WORKLOADS)
            rows = {
                row.find_element(By.TAG_NAME, "td").text: row
                for row in browser.find_elements(By.CSS_SELECTOR, "table tr")
                if row.find_elements(By.TAG_NAME, "td")
            }
            for workload in WORKLOADS:
                state = rows[workload].find_elements(By.TAG_NAME, "td")[2]
                assert state.text == "ready", (workload, page)
            web_url = rows["shop-web"].find_element(By.TAG_NAME, "a").get_attribute("href")
            assert web_url and _health(web_url)["greeting"] == "Welcome to the shop"
            browser.get(run_url)  # the finished run reads the same without a live refresh
            shot("8-run-again", "succeeded")
        finally:
            browser.quit()

        # The passwords the shop's apps got never reached a console page.
        revealed = json.loads(shop.podium("--json", "outputs", "-e", "dev", "--show-secrets"))
        secrets = _secret_values(revealed)
        assert secrets, revealed
        assert not [s for s in secrets for p in pages if s in p], "a secret on a console page"

        with served.client(token, timeout=120) as api:
            gone = api.post("/environments/dev/destroy")
            assert gone.status_code == 202, gone.text
            assert wait_run(api, gone.json()["id"], timeout=240)["status"] == "succeeded"
            assert api.get("/environments/dev/workloads").json() == []
    finally:
        served.stop()


def _secret_values(outputs: Any) -> list[str]:
    found: list[str] = []
    if isinstance(outputs, dict):
        for key, value in outputs.items():
            if "password" in key and isinstance(value, str) and len(value) >= 8:
                found.append(value)
            else:
                found += _secret_values(value)
    elif isinstance(outputs, list):
        for item in outputs:
            found += _secret_values(item)
    return found
