"""The web console at ``/``: server-rendered pages (Jinja2) over the same server as the API.

Sign-in takes an API token (or an OIDC JWT) once and keeps a session cookie
(``HttpOnly``, ``SameSite=Strict``; only its digest is stored). Every form carries the
session's CSRF token, checked on each POST; the sign-in form, which has no session yet,
is accepted only from this origin. Pages read without JavaScript; htmx (vendored, see
``static/htmx-LICENSE.txt``) refreshes a run's progress in place, and without it the
page reloads itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from podium.errors import PodiumError
from podium.serve import access
from podium.serve.identity import AuthenticationError, Identity
from podium.serve.store import FINISHED
from podium.serve.workloads import platform_workloads

if TYPE_CHECKING:
    from podium.serve.app import Server

HERE = Path(__file__).parent
COOKIE = "podium_session"
SESSION_HOURS = 8
_FORM_LIMIT = 256 * 1024


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def add_console(app: FastAPI, server: Server) -> None:
    """Mount the console's pages and its static files on ``app``."""
    pages = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
    )
    platform = server.platform
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def render(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("platform", platform.name)
        return HTMLResponse(pages.get_template(name).render(**values), status_code=status)

    def signed_in(request: Request) -> tuple[Identity, str] | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        found = server.store.session(_digest(cookie))
        if found is None:
            return None
        who = Identity(
            found["subject"], found["team"], found["role"], frozenset(found["permissions"])
        )
        if who.subject.startswith("token:"):  # a revoked token ends its sessions too
            token = server.store.token(who.subject.split(":", 1)[1])
            if token is None or token.revoked_at is not None:
                return None
        return who, str(found["csrf"])

    async def form(request: Request) -> dict[str, str]:
        return {k: v[0] for k, v in (await form_lists(request)).items()}

    async def form_lists(request: Request) -> dict[str, list[str]]:
        """Every value of each field (checkboxes send one per ticked box)."""
        body = await request.body()
        if len(body) > _FORM_LIMIT:
            raise PodiumError("form too large")
        return parse_qs(body.decode(errors="replace"), keep_blank_values=True)

    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin") or request.headers.get("referer")
        if not origin:
            return True  # not a browser's cross-site post (those send Origin)
        return urlsplit(origin).netloc == request.headers.get("host")

    async def checked(request: Request) -> tuple[Identity, dict[str, str]] | Response:
        """The session and the form of a POST, or the response refusing it."""
        session = await checked_lists(request)
        if isinstance(session, Response):
            return session
        who, fields = session
        return who, {k: v[0] for k, v in fields.items()}

    async def checked_lists(request: Request) -> tuple[Identity, dict[str, list[str]]] | Response:
        session = signed_in(request)
        if session is None:
            return RedirectResponse("/", status_code=303)
        who, csrf = session
        fields = await form_lists(request)
        sent = (fields.get("csrf") or [""])[0]
        if not hmac.compare_digest(sent, csrf) or not same_origin(request):
            return render("error.html", 403, message="the form's CSRF token is missing or wrong")
        return who, fields

    async def guarded(who: Identity, work: Any) -> Any:
        def run() -> Any:
            with platform.acting_as(who.subject):
                return work()

        try:
            return await anyio.to_thread.run_sync(run)
        except access.AccessDenied as exc:
            return render("error.html", 403, message=exc.reason, who=who)
        except PodiumError as exc:
            from podium.serve.app import _status_of

            status = _status_of(exc)
            shown = exc.message if status < 500 else f"internal error ({type(exc).__name__})"
            return render("error.html", status if status < 500 else 500, message=shown, who=who)

    # --------------------------------------------------------------- sign-in
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return render("login.html")
        who, csrf = session
        envs = [
            {"name": e, "tier": platform.environment(e).tier, "rule": access.rule_for(platform, e)}
            for e in platform.environments
        ]
        return render("index.html", who=who, csrf=csrf, environments=envs)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        if not same_origin(request):
            return render("login.html", 403, message="sign in from this server's own page")
        fields = await form(request)
        try:
            who = await anyio.to_thread.run_sync(server.identify, fields.get("token", "").strip())
        except AuthenticationError as exc:
            return render("login.html", 401, message=str(exc))
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        expires = datetime.now(UTC) + timedelta(hours=SESSION_HOURS)
        server.store.add_session(
            _digest(cookie),
            {
                "subject": who.subject,
                "team": who.team,
                "role": who.role,
                "permissions": sorted(who.permissions),
            },
            csrf,
            expires.isoformat(),
        )
        answer = RedirectResponse("/", status_code=303)
        answer.set_cookie(
            COOKIE,
            cookie,
            max_age=SESSION_HOURS * 3600,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return answer

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        session = await checked(request)
        if isinstance(session, Response):
            return session
        server.store.end_session(_digest(request.cookies.get(COOKIE, "")))
        answer = RedirectResponse("/", status_code=303)
        answer.delete_cookie(COOKIE)
        return answer

    # ------------------------------------------------------------ read views
    @app.get("/environments/{env}", response_class=HTMLResponse, include_in_schema=False)
    async def environment_page(request: Request, env: str) -> Response:
        session = signed_in(request)
        if session is None:
            return RedirectResponse("/", status_code=303)
        who, csrf = session
        if env not in platform.config.environments:
            return render("error.html", 404, message=f"no environment {env[:64]!r}", who=who)

        def read() -> dict[str, Any]:
            owners = {r.uid.split(":", 1)[1]: r.owner for r in platform.deployments(env)}
            workloads = [
                {**s.model_dump(mode="json"), "owner": owners.get(s.workload)}
                for s in platform.status(env)
            ]
            from podium.engine.audit import describe

            history = [{**h, "described": describe(h)} for h in platform.history(env, 30)]
            runs = [r.to_dict() for r in server.store.runs(env, 10)]
            try:
                own = sorted(platform_workloads(platform))
                own_error = ""
            except PodiumError as exc:  # a broken Score file must not hide the page
                own, own_error = [], exc.message
            return {
                "workloads": workloads,
                "history": history,
                "runs": runs,
                "platform_workloads": own,
                "platform_workloads_error": own_error,
            }

        found = await guarded(who, read)
        if isinstance(found, Response):
            return found
        return render("environment.html", who=who, csrf=csrf, env=env, **found)

    @app.get("/plans/{plan_id}", response_class=HTMLResponse, include_in_schema=False)
    async def plan_page(request: Request, plan_id: str) -> Response:
        session = signed_in(request)
        if session is None:
            return RedirectResponse("/", status_code=303)
        who, csrf = session
        row = server.store.plan(plan_id) if len(plan_id) == 32 else None
        if row is None:
            return render("error.html", 404, message="no such plan", who=who)
        document = json.loads(row["data"])
        return render(
            "plan.html",
            who=who,
            csrf=csrf,
            plan=row,
            document=document,
            approvals=server.store.approvals(plan_id),
        )

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    async def run_page(request: Request, run_id: str) -> Response:
        session = signed_in(request)
        if session is None:
            return RedirectResponse("/", status_code=303)
        who, _csrf = session
        values = _run_view(server, run_id)
        if values is None:
            return render("error.html", 404, message="no such run", who=who)
        fragment = request.headers.get("hx-request") == "true"
        return render("run_live.html" if fragment else "run.html", who=who, **values)

    # --------------------------------------------------------------- changes
    @app.post("/environments/{env}/plan", include_in_schema=False)
    async def plan_form(request: Request, env: str) -> Response:
        session = await checked(request)
        if isinstance(session, Response):
            return session
        who, fields = session
        if env not in platform.config.environments:
            return render("error.html", 404, message="no such environment", who=who)
        made = await guarded(who, lambda: server.make_plan(who, env, fields.get("score", "")))
        if isinstance(made, Response):
            return made
        return RedirectResponse(f"/plans/{made[0]}", status_code=303)

    @app.post("/environments/{env}/plan-platform", include_in_schema=False)
    async def plan_platform_form(request: Request, env: str) -> Response:
        """Plan the platform's own workloads ticked in the form (all when none is)."""
        session = await checked_lists(request)
        if isinstance(session, Response):
            return session
        who, fields = session
        if env not in platform.config.environments:
            return render("error.html", 404, message="no such environment", who=who)
        names = fields.get("workload") or None
        made = await guarded(who, lambda: server.make_platform_plan(who, env, names))
        if isinstance(made, Response):
            return made
        return RedirectResponse(f"/plans/{made[0]}", status_code=303)

    @app.post("/plans/{plan_id}/apply", include_in_schema=False)
    async def apply_form(request: Request, plan_id: str) -> Response:
        session = await checked(request)
        if isinstance(session, Response):
            return session
        who, _fields = session
        row = server.store.plan(plan_id) if len(plan_id) == 32 else None
        if row is None:
            return render("error.html", 404, message="no such plan", who=who)
        started = await guarded(who, lambda: server.start_apply(who, plan_id, row))
        if isinstance(started, Response):
            return started
        run, taken = started
        return RedirectResponse(f"/runs/{taken or run.id}", status_code=303)

    @app.post("/environments/{env}/workloads/{workload}/rollback", include_in_schema=False)
    async def rollback_form(request: Request, env: str, workload: str) -> Response:
        session = await checked(request)
        if isinstance(session, Response):
            return session
        who, _fields = session
        if env not in platform.config.environments:
            return render("error.html", 404, message="no such environment", who=who)
        run = await guarded(who, lambda: server.start_rollback(who, env, workload, None))
        if isinstance(run, Response):
            return run
        return RedirectResponse(f"/runs/{run.id}", status_code=303)

    @app.post("/plans/{plan_id}/approve", include_in_schema=False)
    async def approve_form(request: Request, plan_id: str) -> Response:
        session = await checked(request)
        if isinstance(session, Response):
            return session
        who, _fields = session
        row = server.store.plan(plan_id) if len(plan_id) == 32 else None
        if row is None:
            return render("error.html", 404, message="no such plan", who=who)

        def grant() -> None:
            env = row["environment"]
            decision = access.decide_approval(platform, who, env, row["who"])
            access.enforce(platform, env, who, decision, subject=f"plan {plan_id}")
            server.store.approve(plan_id, who.subject, who.role)

        done = await guarded(who, grant)
        if isinstance(done, Response):
            return done
        return RedirectResponse(f"/plans/{plan_id}", status_code=303)


def _run_view(server: Server, run_id: str) -> dict[str, Any] | None:
    row = server.store.run(run_id) if len(run_id) == 32 else None
    if row is None:
        return None
    shown = ("run.status", "run.finished")  # the status line says those
    events = [e for e in server.runs.events(run_id) if e.get("kind") not in shown]
    return {"run": row.to_dict(), "events": events, "finished": row.status in FINISHED}
