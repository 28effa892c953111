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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import anyio
from fastapi import Depends, FastAPI, Request
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

T = TypeVar("T")

HERE = Path(__file__).parent
COOKIE = "podium_session"
SESSION_HOURS = 8
_FORM_LIMIT = 256 * 1024


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Refused(Exception):
    """A console request answered with ``response`` instead of its page: the sign-in
    redirect, a refused form, an error page."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True)
class Session:
    """A signed-in console session: who, and the CSRF token its forms carry."""

    who: Identity
    csrf: str


@dataclass(frozen=True)
class FormPost:
    """A form posted from a signed-in session with that session's CSRF token."""

    who: Identity
    fields: dict[str, list[str]]

    def field(self, name: str) -> str:
        """The field's (first) value, ``""`` when absent."""
        return (self.fields.get(name) or [""])[0]

    def values(self, name: str) -> list[str]:
        """Every value of the field (checkboxes send one per ticked box)."""
        return self.fields.get(name, [])


class Console:
    """What the console's pages share: the server, the templates and the checks."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.platform = server.platform
        self.pages = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
        )

    def render(self, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("platform", self.platform.name)
        return HTMLResponse(self.pages.get_template(name).render(**values), status_code=status)

    def signed_in(self, request: Request) -> Session | None:
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        store = self.server.store
        found = store.session(_digest(cookie))
        if found is None:
            return None
        who = Identity(
            found["subject"], found["team"], found["role"], frozenset(found["permissions"])
        )
        if who.subject.startswith("token:"):  # a revoked token ends its sessions too
            token = store.token(who.subject.split(":", 1)[1])
            if token is None or token.revoked_at is not None:
                return None
        return Session(who, str(found["csrf"]))

    def known_environment(self, env: str, who: Identity) -> None:
        if env not in self.platform.config.environments:
            message = f"no environment {env[:64]!r}"
            raise Refused(self.render("error.html", 404, message=message, who=who))

    def stored_plan(self, plan_id: str, who: Identity) -> dict[str, Any]:
        row = self.server.store.plan(plan_id) if len(plan_id) == 32 else None
        if row is None:
            raise Refused(self.render("error.html", 404, message="no such plan", who=who))
        return row

    async def guarded(self, who: Identity, work: Callable[[], T]) -> T:
        """``work()`` as ``who`` in a worker thread; a refusal or an error is its page."""

        def run() -> T:
            with self.platform.acting_as(who.subject):
                return work()

        try:
            return await anyio.to_thread.run_sync(run)
        except access.AccessDenied as exc:
            raise Refused(self.render("error.html", 403, message=exc.reason, who=who)) from None
        except PodiumError as exc:
            from podium.serve.app import _status_of

            status = _status_of(exc)
            shown = exc.message if status < 500 else f"internal error ({type(exc).__name__})"
            status = status if status < 500 else 500
            raise Refused(self.render("error.html", status, message=shown, who=who)) from None


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


async def page_session(request: Request) -> Session:
    """The session of a page or form request (else the sign-in page instead)."""
    console: Console = request.app.state.console
    session = console.signed_in(request)
    if session is None:
        raise Refused(RedirectResponse("/", status_code=303))
    return session


async def form_post(request: Request) -> FormPost:
    """Every console form's check: a signed-in session, and its CSRF token in a form
    posted from this origin (else a 403 page instead)."""
    session = await page_session(request)
    fields = await form_lists(request)
    sent = (fields.get("csrf") or [""])[0]
    if not hmac.compare_digest(sent, session.csrf) or not same_origin(request):
        console: Console = request.app.state.console
        refused = "the form's CSRF token is missing or wrong"
        raise Refused(console.render("error.html", 403, message=refused))
    return FormPost(session.who, fields)


#: a page's signed-in session (else the sign-in page)
SignedIn = Annotated[Session, Depends(page_session)]
#: a console form that passed the session and CSRF checks (else a refusal)
Form = Annotated[FormPost, Depends(form_post)]


def add_console(app: FastAPI, server: Server) -> None:
    """Mount the console's pages and its static files on ``app``."""
    console = Console(server)
    app.state.console = console
    render, guarded = console.render, console.guarded
    known_environment, stored_plan = console.known_environment, console.stored_plan
    platform = server.platform
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> Response:
        return exc.response

    # --------------------------------------------------------------- sign-in
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(request: Request) -> Response:
        session = console.signed_in(request)
        if session is None:
            return render("login.html")
        envs = [
            {"name": e, "tier": platform.environment(e).tier, "rule": access.rule_for(platform, e)}
            for e in platform.environments
        ]
        return render("index.html", who=session.who, csrf=session.csrf, environments=envs)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        if not same_origin(request):
            return render("login.html", 403, message="sign in from this server's own page")
        token = (await form_lists(request)).get("token") or [""]
        try:
            who = await anyio.to_thread.run_sync(server.identify, token[0].strip())
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
    async def logout(request: Request, _form: Form) -> Response:
        server.store.end_session(_digest(request.cookies.get(COOKIE, "")))
        answer = RedirectResponse("/", status_code=303)
        answer.delete_cookie(COOKIE)
        return answer

    # ------------------------------------------------------------ read views
    @app.get("/environments/{env}", response_class=HTMLResponse, include_in_schema=False)
    async def environment_page(env: str, session: SignedIn) -> Response:
        who = session.who
        known_environment(env, who)

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
        return render("environment.html", who=who, csrf=session.csrf, env=env, **found)

    @app.get("/plans/{plan_id}", response_class=HTMLResponse, include_in_schema=False)
    async def plan_page(plan_id: str, session: SignedIn) -> Response:
        row = stored_plan(plan_id, session.who)
        document = json.loads(row["data"])
        return render(
            "plan.html",
            who=session.who,
            csrf=session.csrf,
            plan=row,
            document=document,
            approvals=server.store.approvals(plan_id),
        )

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    async def run_page(request: Request, run_id: str, session: SignedIn) -> Response:
        values = _run_view(server, run_id)
        if values is None:
            return render("error.html", 404, message="no such run", who=session.who)
        fragment = request.headers.get("hx-request") == "true"
        return render("run_live.html" if fragment else "run.html", who=session.who, **values)

    # --------------------------------------------------------------- changes
    # Every form handler takes a Form: the session and CSRF checks ran before it.
    @app.post("/environments/{env}/plan", include_in_schema=False)
    async def plan_form(env: str, form: Form) -> Response:
        known_environment(env, form.who)
        score = form.field("score")
        made = await guarded(form.who, lambda: server.make_plan(form.who, env, score))
        return RedirectResponse(f"/plans/{made[0]}", status_code=303)

    @app.post("/environments/{env}/plan-platform", include_in_schema=False)
    async def plan_platform_form(env: str, form: Form) -> Response:
        """Plan the platform's own workloads ticked in the form (all when none is)."""
        known_environment(env, form.who)
        names = form.values("workload") or None
        made = await guarded(form.who, lambda: server.make_platform_plan(form.who, env, names))
        return RedirectResponse(f"/plans/{made[0]}", status_code=303)

    @app.post("/plans/{plan_id}/apply", include_in_schema=False)
    async def apply_form(plan_id: str, form: Form) -> Response:
        row = stored_plan(plan_id, form.who)
        run, taken = await guarded(form.who, lambda: server.start_apply(form.who, plan_id, row))
        return RedirectResponse(f"/runs/{taken or run.id}", status_code=303)

    @app.post("/environments/{env}/workloads/{workload}/rollback", include_in_schema=False)
    async def rollback_form(env: str, workload: str, form: Form) -> Response:
        known_environment(env, form.who)
        run = await guarded(form.who, lambda: server.start_rollback(form.who, env, workload, None))
        return RedirectResponse(f"/runs/{run.id}", status_code=303)

    @app.post("/plans/{plan_id}/approve", include_in_schema=False)
    async def approve_form(plan_id: str, form: Form) -> Response:
        row, who = stored_plan(plan_id, form.who), form.who

        def grant() -> None:
            env = row["environment"]
            decision = access.decide_approval(platform, who, env, row["who"])
            access.enforce(platform, env, who, decision, subject=f"plan {plan_id}")
            server.store.approve(plan_id, who.subject, who.role)

        await guarded(who, grant)
        return RedirectResponse(f"/plans/{plan_id}", status_code=303)


def _run_view(server: Server, run_id: str) -> dict[str, Any] | None:
    row = server.store.run(run_id) if len(run_id) == 32 else None
    if row is None:
        return None
    shown = ("run.status", "run.finished")  # the status line says those
    events = [e for e in server.runs.events(run_id) if e.get("kind") not in shown]
    return {"run": row.to_dict(), "events": events, "finished": row.status in FINISHED}
