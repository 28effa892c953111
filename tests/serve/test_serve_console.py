"""The web console in a real browser: Debian's chromium through chromium-driver (Selenium).

A developer signs in with a token, plans a Score file from the browser, applies it,
watches the run finish (htmx refreshes it in place) and sees the workload ready.
Screenshots of each step are saved (``PODIUM_TEST_ARTIFACTS``, else the test's temp
directory) and the text each one shows is checked. No page carries the secret canary.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import Project, Served, score, start_browser

CANARY = "canary-serve-7f3a91-do-not-print"


def test_sign_in_plan_apply_and_see_it_ready(
    project: Project, served: Served, tmp_path: Path
) -> None:
    pytest.importorskip("selenium") if not os.environ.get("CI") else None
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as until
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("PODIUM_TEST_ARTIFACTS") or tmp_path) / "console"
    shots.mkdir(parents=True, exist_ok=True)
    token = project.token("payments", "developer")
    base = served.url.removesuffix("/api/v1")
    browser = start_browser()
    pages: list[str] = []

    def shot(name: str, expected: str) -> None:
        text = browser.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
        assert expected in text, f"{name}: {expected!r} not shown:\n{text}"
        path = shots / f"{name}.png"
        assert browser.save_screenshot(str(path))  # type: ignore[attr-defined]
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000
        pages.append(browser.page_source)  # type: ignore[attr-defined]

    try:
        # htmx swaps the run's fragment in place: an element found may go stale
        wait = WebDriverWait(browser, 60, ignored_exceptions=(StaleElementReferenceException,))
        browser.get(base + "/")  # type: ignore[attr-defined]
        shot("1-sign-in", "Sign in")
        browser.find_element(By.NAME, "token").send_keys(token)  # type: ignore[attr-defined]
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()  # type: ignore[attr-defined]
        wait.until(until.presence_of_element_located((By.LINK_TEXT, "dev"))).click()
        shot("2-environment", "nothing deployed")
        browser.find_element(By.NAME, "score").send_keys(score("web"))  # type: ignore[attr-defined]
        browser.find_element(By.ID, "plan").click()  # type: ignore[attr-defined]
        wait.until(until.presence_of_element_located((By.ID, "apply")))
        shot("3-plan", "deployment:web")
        browser.find_element(By.ID, "apply").click()  # type: ignore[attr-defined]
        wait.until(until.text_to_be_present_in_element((By.ID, "status"), "succeeded"))
        shot("4-run", "succeeded")
        browser.find_element(By.LINK_TEXT, "dev").click()  # type: ignore[attr-defined]
        wait.until(until.presence_of_element_located((By.CLASS_NAME, "ready")))
        shot("5-ready", "ready")
    finally:
        browser.quit()  # type: ignore[attr-defined]
    assert not [p for p in pages if CANARY in p], "secret canary on a console page"


def test_console_forms_need_the_session_csrf_token(project: Project, served: Served) -> None:
    import re

    import httpx

    token = project.token("payments", "developer")
    base = served.url.removesuffix("/api/v1")
    with httpx.Client(base_url=base, follow_redirects=True) as browser:
        assert "Sign in" in browser.get("/environments/dev").text  # no session: sign in first
        assert browser.post("/login", data={"token": "pdm_x_y"}).status_code == 401
        cross = browser.post(
            "/login", data={"token": token}, headers={"Origin": "https://evil.example"}
        )
        assert cross.status_code == 403
        home = browser.post("/login", data={"token": token})
        assert home.status_code == 200 and "Environments" in home.text
        cookie = browser.cookies.get("podium_session")
        assert cookie and cookie != token
        csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
        assert csrf is not None
        for bad in ("", "forged"):
            refused = browser.post(
                "/environments/dev/plan", data={"score": score("web"), "csrf": bad}
            )
            assert refused.status_code == 403 and "CSRF" in refused.text
            rollback = browser.post("/environments/dev/workloads/web/rollback", data={"csrf": bad})
            assert rollback.status_code == 403
            own = browser.post("/environments/dev/plan-platform", data={"csrf": bad})
            assert own.status_code == 403 and "CSRF" in own.text
            for form in (f"/plans/{'0' * 32}/apply", f"/plans/{'0' * 32}/approve", "/logout"):
                assert browser.post(form, data={"csrf": bad}).status_code == 403, form
        nowhere = browser.post("/environments/nowhere/plan", data={"csrf": csrf.group(1)})
        assert nowhere.status_code == 404 and "nowhere" in nowhere.text
        no_plan = browser.post(f"/plans/{'0' * 32}/apply", data={"csrf": csrf.group(1)})
        assert no_plan.status_code == 404 and "no such plan" in no_plan.text
        made = browser.post(
            "/environments/dev/plan", data={"score": "metadata: [", "csrf": csrf.group(1)}
        )
        assert made.status_code == 400 and "&lt;api:payments&gt;" in made.text
        out = browser.post("/logout", data={"csrf": csrf.group(1)})
        assert out.status_code == 200 and "Sign in" in out.text and not browser.cookies
        assert "Environments" in browser.post("/login", data={"token": token}).text
        project.podium("tokens", "revoke", token.split("_")[1])
        assert "Sign in" in browser.get("/").text  # a revoked token ends its sessions
