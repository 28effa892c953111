"""The ASGI application of ``podium serve`` (FastAPI): REST under ``/api/v1``.

Every endpoint but ``GET /api/v1/health`` needs a bearer credential
(:mod:`podium.serve.identity`); what it may do is decided by :mod:`podium.serve.access`.
Blocking platform calls run in worker threads; changes run in the background as runs
(:mod:`podium.serve.runs`) whose progress streams as Server-Sent Events.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from podium.errors import (
    CancelledError,
    ClosedError,
    InputError,
    LockedError,
    NotFoundError,
    OwnershipError,
    PlanVerificationError,
    PodiumError,
    PolicyBlockedError,
    StalePlanError,
)
from podium.serve import access
from podium.serve.identity import AuthenticationError, Identity, verify_token
from podium.serve.liveness import Heartbeat, server_identity
from podium.serve.runs import RunManager
from podium.serve.store import FINISHED, RunRow, ServerStore
from podium.version import __version__

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.engine.plan import Plan
    from podium.serve.oidc import OidcVerifier
    from podium.workload.model import Workload

T = TypeVar("T")
API = "/api/v1"
_ID = re.compile(r"[0-9a-f]{32}")
_NAME = re.compile(r"[a-z0-9]+(?:[-_.][a-z0-9]+)*")
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
#: plans kept as objects (applied without being recomputed); older ones are read back
_PLANS_IN_MEMORY = 512
#: a Score file up to this size is planned on the event loop (see plans_quickly)
_INLINE_PLAN_BYTES = 16 * 1024
_STATUS = {
    InputError: 400,
    NotFoundError: 404,
    OwnershipError: 403,
    LockedError: 409,
    StalePlanError: 409,
    PlanVerificationError: 409,
    PolicyBlockedError: 409,
    CancelledError: 503,
    ClosedError: 503,
}


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes, declared or streamed (HTTP 413)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            response = _error(413, f"request body larger than {self.limit} bytes")
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited, send)


Endpoint = Callable[[Request], Awaitable[Response]]
_PLANS_PATH = re.compile(rf"{API}/environments/([^/]+)/plans")


class PlanShortcut:
    """Serve ``POST /api/v1/environments/{env}/plans`` without the layers below it.

    Planning is the request a self-service API answers most, and its own work is about
    0.7 ms: Starlette's exception middleware, FastAPI's exit stack, routing and the
    route's wrappers cost a few hundredths of a millisecond more (CPU profiles of the
    server under benchmarks/bench_serve.py's requests). ``endpoint`` does what the documented FastAPI route does (the same
    authentication, checks and answer); an exception it raises is answered by the
    application's own exception handlers, exactly as ExceptionMiddleware would, and
    one without a handler goes up to the server-error middleware as before. It sits
    inside :class:`BodyLimit`, so the body limit applies unchanged.
    """

    def __init__(self, app: Any, endpoint: Endpoint, handlers: dict[Any, Any]) -> None:
        self.app = app
        self.endpoint = endpoint
        self.handlers = handlers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        matched = (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and not scope.get("root_path")
            and _PLANS_PATH.fullmatch(scope["path"])
        )
        if not matched:
            await self.app(scope, receive, send)
            return
        scope["path_params"] = {"env": matched.group(1)}
        request = Request(scope, receive, send)
        try:
            response = await self.endpoint(request)
        except Exception as exc:
            handler = next(
                (self.handlers[k] for k in type(exc).__mro__ if k in self.handlers), None
            )
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)


class Server:
    """What the endpoints share: the platform, the server store, runs and credentials."""

    def __init__(
        self, platform: Platform, store: ServerStore, oidc: OidcVerifier | None = None
    ) -> None:
        self.platform = platform
        self.store = store
        self.oidc = oidc
        serve = platform.config.serve
        me = server_identity(platform.environ)
        self.runs = RunManager(platform, store, serve.queue_timeout, me)
        self.heartbeat = Heartbeat(store, me, serve.heartbeat_interval, serve.heartbeat_timeout)
        self._plans: OrderedDict[str, Plan] = OrderedDict()
        self._plans_lock = threading.Lock()
        self._local = _plans_are_local(platform, store)

    def identify(self, credential: str) -> Identity:
        if credential.startswith("pdm_"):
            return verify_token(self.store, credential)
        if self.oidc and credential.count(".") == 2:
            return self.oidc.verify(credential)
        raise AuthenticationError("unknown, revoked or expired token")

    def plans_quickly(self, env: str) -> bool:
        """Whether a plan (without refresh) of ``env`` is quick enough to make on the event
        loop: local state and store, and no dead run's intents to settle first (that calls
        plugins). On a busy machine the two wake-ups of a hop to a worker thread and back
        cost more than the plan (benchmarks/bench_serve.py)."""
        return self._local and not self.platform.store(env).pending_intents()

    def keep_plan(self, plan_id: str, plan: Plan) -> None:
        with self._plans_lock:
            self._plans[plan_id] = plan
            while len(self._plans) > _PLANS_IN_MEMORY:
                self._plans.popitem(last=False)

    def plan_object(self, plan_id: str, data: str) -> Plan:
        with self._plans_lock:
            plan = self._plans.get(plan_id)
        if plan is not None:
            return plan
        from podium.engine.plan import Plan

        return Plan.from_dict(json.loads(data), source=f"<plan {plan_id}>")

    def make_plan(
        self, who: Identity, env: str, text: str, *, refresh: bool = False
    ) -> tuple[str, str, str]:
        """Plan Score ``text`` in ``env`` for ``who``'s team and store it: returns its id,
        digest and JSON (call in a worker thread)."""
        decision = access.decide_role(who, "plan", "developer")
        access.enforce(self.platform, env, who, decision, record_allowed=False)
        from podium.workload.loader import load_workload_text

        workload = load_workload_text(text, f"<api:{who.team}>")
        return self._plan(who, env, [workload], refresh=refresh)

    def make_platform_plan(
        self, who: Identity, env: str, names: Sequence[str] | None, *, refresh: bool = False
    ) -> tuple[str, str, str]:
        """Plan the platform's own workloads named ``names`` (all for none) in ``env``.

        Their files are the ones ``[platform] workloads`` lists, so they keep their
        directory (and the owner ``[teams]`` maps it to): only that team or an admin may
        plan them."""
        platform = self.platform
        decision = access.decide_role(who, "plan", "developer")
        access.enforce(platform, env, who, decision, record_allowed=False)
        from podium.engine.ownership import workload_owners
        from podium.serve.workloads import choose

        chosen = choose(platform, names)
        owners = workload_owners(chosen, platform.root, platform.config.teams)
        for workload in chosen:
            owned = access.decide_owner(who, "plan", owners.get(workload.name), workload.name)
            if not owned.allowed:
                access.enforce(platform, env, who, owned, subject=workload.name)
        return self._plan(who, env, chosen, refresh=refresh)

    def _plan(
        self, who: Identity, env: str, workloads: list[Workload], *, refresh: bool
    ) -> tuple[str, str, str]:
        platform = self.platform
        with platform.acting_as(who.subject):
            try:
                made = platform.plan(env, workloads, owner=who.team, refresh=refresh)
            except OwnershipError as exc:
                refused = access.Decision("plan", False, exc.message)
                subject = ", ".join(w.name for w in workloads)
                access.enforce(platform, env, who, refused, subject=subject)
                raise
        import uuid

        plan_id = uuid.uuid4().hex
        data = json.dumps(made.to_dict(), default=str)
        digest = _digest(data)
        self.store.add_plan(plan_id, env, who.team, who.subject, digest, data)
        self.keep_plan(plan_id, made)
        return plan_id, digest, data

    def start_apply(
        self, who: Identity, plan_id: str, row: dict[str, Any]
    ) -> tuple[RunRow, str | None]:
        """Check ``who`` may apply the stored plan ``row`` and start its run; returns the run
        and ``None``, or the run and the id of the run that applied the plan first."""
        platform, env = self.platform, row["environment"]
        owner = access.decide_owner(who, "apply", row["team"], f"plan {plan_id}")
        if not owner.allowed:
            access.enforce(platform, env, who, owner, subject=f"plan {plan_id}")
        decision = access.decide_change(platform, who, "apply", env, self.store.approvals(plan_id))
        access.enforce(platform, env, who, decision, subject=f"plan {plan_id}")
        plan = self.plan_object(plan_id, row["data"])
        run = self.runs.new_row("apply", env, who, plan_id)
        taken = self.store.claim_plan(plan_id, run)
        if taken is not None:
            return run, taken

        def work(wait: float) -> dict[str, Any]:
            return _result_detail(platform.apply(plan, lock_timeout=wait))

        self.runs.start(run, who, work)
        return run, None

    def start_rollback(self, who: Identity, env: str, workload: str, to: int | None) -> RunRow:
        """Check ``who`` may roll ``workload`` back in ``env`` and start the run."""
        platform = self.platform
        owner = platform._deployment(env, workload).owner
        decision = access.decide_owner(who, "roll back", owner, workload)
        access.enforce(platform, env, who, decision, subject=workload, record_allowed=False)
        decision = access.decide_change(platform, who, "rollback", env)
        access.enforce(platform, env, who, decision, subject=workload)
        run = self.runs.new_row("rollback", env, who)
        self.store.add_run(run)

        def work(wait: float) -> dict[str, Any]:
            return {"release": platform.rollback(env, workload, to=to, lock_timeout=wait)}

        self.runs.start(run, who, work)
        return run

    def start(self) -> None:
        """Record this server alive and settle the runs of servers that are not."""
        self.heartbeat.start()
        self.runs.settle_orphans()

    def close(self) -> None:
        self.runs.shutdown()
        self.heartbeat.stop()
        self.platform.close()
        self.store.close()


_bearer = HTTPBearer(auto_error=False)


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    """The authenticated identity of the request (401 when there is none)."""
    if credentials is None:
        raise AuthenticationError("missing bearer token (Authorization: Bearer ...)")
    server: Server = request.app.state.server
    text = credentials.credentials
    if text.startswith("pdm_") and server.store.local:
        # One indexed read of a local database: cheaper inline than a hop to a thread.
        return server.identify(text)
    return await anyio.to_thread.run_sync(server.identify, text)  # may fetch a JWKS


Caller = Annotated[Identity, Depends(caller)]

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _bearer_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    """The bearer credentials of ``request``, as :class:`HTTPBearer` reads them."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials.strip())


def _query_flag(values: list[str], name: str) -> bool:
    """A boolean query parameter read as FastAPI reads one (absent: false)."""
    if not values:
        return False
    value = values[-1].strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise InputError(f"invalid request: query.{name}: not a boolean: {values[-1][:32]!r}")


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _status_of(exc: PodiumError) -> int:
    for kind, status in _STATUS.items():
        if isinstance(exc, kind):
            return status
    return 500


def create_app(server: Server) -> FastAPI:
    """The API over ``server``; closing it (lifespan end) cancels runs and closes the platform."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Blocking platform calls run in threads: allow as many as clients plan at once.
        anyio.to_thread.current_default_thread_limiter().total_tokens = 100
        await anyio.to_thread.run_sync(server.start)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(server.close)

    app = FastAPI(
        title="Podium",
        version=__version__,
        openapi_url=f"{API}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    from podium.serve.console import add_console

    add_console(app, server)
    app.state.server = server

    @app.exception_handler(PodiumError)
    async def podium_error(_request: Request, exc: PodiumError) -> JSONResponse:
        status = _status_of(exc)
        if status == 500:
            return _error(500, f"internal error ({type(exc).__name__}); see the server's log")
        return _error(status, exc.message, **({"hint": exc.hint} if exc.hint else {}))

    @app.exception_handler(AuthenticationError)
    async def unauthenticated(_request: Request, exc: AuthenticationError) -> JSONResponse:
        return _error(401, str(exc))

    @app.exception_handler(access.AccessDenied)
    async def denied(_request: Request, exc: access.AccessDenied) -> JSONResponse:
        return _error(403, exc.reason)

    @app.exception_handler(BodyTooLarge)
    async def too_large(_request: Request, exc: BodyTooLarge) -> JSONResponse:
        return _error(413, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = f"no such endpoint: {request.method} {request.url.path[:200]}"
        return _error(exc.status_code, message if exc.status_code == 404 else str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        ]
        return _error(400, "invalid request: " + "; ".join(problems))

    platform = server.platform

    def in_thread(who: Identity, work: Callable[[], T]) -> Awaitable[T]:
        def acting() -> T:
            with platform.acting_as(who.subject):
                return work()

        return anyio.to_thread.run_sync(acting)

    def environment(env: str) -> str:
        if env not in platform.config.environments:
            raise NotFoundError(
                f"no environment {env[:64]!r}",
                hint="environments: " + ", ".join(platform.environments),
            )
        return env

    def name(value: str, what: str) -> str:
        if not _NAME.fullmatch(value) or len(value) > 63:
            raise InputError(f"invalid {what} name {value[:64]!r}", field=what)
        return value

    def identifier(value: str, what: str) -> str:
        if not _ID.fullmatch(value):
            raise InputError(f"invalid {what} id {value[:64]!r}: 32 hex digits", field=what)
        return value

    # ------------------------------------------------------------------ reads
    # Endpoints that do no blocking work are coroutines: a plain ``def`` would cost a hop
    # to a worker thread and back on every call.
    @app.get(f"{API}/health", tags=["meta"])
    async def health() -> dict[str, Any]:
        """Liveness; the only endpoint without a credential."""
        return {"status": "ok", "platform": platform.name, "version": __version__}

    @app.get(f"{API}/whoami", tags=["meta"])
    async def whoami(who: Caller) -> dict[str, Any]:
        return {
            "subject": who.subject,
            "team": who.team,
            "role": who.role,
            "permissions": sorted(who.permissions),
        }

    @app.get(f"{API}/environments", tags=["environments"])
    def environments(who: Caller) -> list[dict[str, Any]]:
        result = []
        for env in platform.environments:
            section = platform.config.environments[env]
            rule = access.rule_for(platform, env)
            result.append(
                {
                    "name": env,
                    "description": section.description,
                    "tier": platform.environment(env).tier,
                    "access": rule.model_dump(),
                }
            )
        return result

    @app.get(f"{API}/environments/{{env}}/workloads", tags=["workloads"])
    async def workloads(env: str, who: Caller) -> list[dict[str, Any]]:
        """Deployed workloads with their owner, health and URLs."""
        environment(env)

        def read() -> list[dict[str, Any]]:
            owners = {r.uid.split(":", 1)[1]: r.owner for r in platform.deployments(env)}
            return [
                {**s.model_dump(mode="json"), "owner": owners.get(s.workload)}
                for s in platform.status(env)
            ]

        return await in_thread(who, read)

    @app.get(f"{API}/environments/{{env}}/history", tags=["history"])
    async def history(
        env: str,
        who: Caller,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        kind: Annotated[list[str] | None, Query()] = None,
    ) -> list[dict[str, Any]]:
        environment(env)
        return await in_thread(who, lambda: platform.history(env, limit, kinds=kind or ()))

    @app.get(f"{API}/environments/{{env}}/outputs", tags=["outputs"])
    async def outputs(env: str, who: Caller, show_secrets: bool = False) -> dict[str, Any]:
        """Every node's outputs; secret values only with ``show_secrets`` and the
        ``reveal-secrets`` permission (recorded in history)."""
        environment(env)
        if show_secrets:
            decision = access.decide_reveal(who)
            await in_thread(
                who,
                lambda: access.enforce(
                    platform, env, who, decision, subject="secret outputs", record_allowed=False
                ),
            )
        return await in_thread(who, lambda: platform.outputs(env, show_secrets=show_secrets))

    @app.get(f"{API}/environments/{{env}}/workloads/{{workload}}/logs", tags=["workloads"])
    async def logs(
        env: str,
        workload: str,
        who: Caller,
        tail: Annotated[int, Query(ge=1, le=10000)] = 200,
        container: str | None = None,
    ) -> list[dict[str, Any]]:
        """The last lines of a workload's logs (its owner team and admins only)."""
        environment(env)
        name(workload, "workload")

        def read() -> list[dict[str, Any]]:
            owner = platform._deployment(env, workload).owner
            decision = access.decide_owner(who, "read the logs of", owner, workload)
            access.enforce(platform, env, who, decision, subject=workload, record_allowed=False)
            lines = platform.logs(env, workload, container=container, tail=tail)
            return [
                {"container": line.container, "text": line.text, "stream": line.stream}
                for line in lines
            ]

        return await in_thread(who, read)

    # ------------------------------------------------------------------ plans
    async def plan_request(request: Request, env: str, who: Identity, refresh: bool) -> Response:
        environment(env)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in _YAML_TYPES and kind != "application/json":
            return _error(
                415,
                "send a Score file as YAML (Content-Type: application/yaml), or the names "
                f'of platform workloads as JSON {{"workloads": [...]}}, not {kind!r}',
            )
        body = await request.body()
        if kind == "application/json":
            names = _workload_names(body)

            def make() -> Response:
                made = server.make_platform_plan(who, env, names, refresh=refresh)
                return _plan_response(env, *made)

        else:
            try:
                text = body.decode()
            except UnicodeDecodeError:
                raise InputError("the Score file is not UTF-8 text") from None

            def make() -> Response:
                return _plan_response(env, *server.make_plan(who, env, text, refresh=refresh))

        # Inline only for a small Score file: a large plan on the event loop would hold up
        # every other request (and event stream) while it runs.
        small = kind != "application/json" and len(body) <= _INLINE_PLAN_BYTES
        if small and not refresh and server.plans_quickly(env):
            with platform.acting_as(who.subject):
                return make()
        return await in_thread(who, make)

    @app.post(f"{API}/environments/{{env}}/plans", tags=["plans"], status_code=201)
    async def plan(request: Request, env: str, who: Caller, refresh: bool = False) -> Response:
        """Plan a Score workload (the YAML as the body) for the caller's team, or the
        platform's own workloads by name (JSON ``{"workloads": ["NAME", ...]}``; all of
        them when the list is omitted)."""
        return await plan_request(request, env, who, refresh)

    async def plan_quickly(request: Request) -> Response:
        """The same endpoint without FastAPI's per-request dependency solving and
        validation (about a third of a plan's cost in the server, bench_serve.py): the
        route above documents it in OpenAPI, this one serves it (PlanShortcut)."""
        who = await caller(request, _bearer_credentials(request))
        refresh = _query_flag(request.query_params.getlist("refresh"), "refresh")
        return await plan_request(request, request.path_params["env"], who, refresh)

    @app.get(f"{API}/workloads", tags=["workloads"])
    async def platform_workload_names(who: Caller) -> list[dict[str, Any]]:
        """The platform's own workloads (``[platform] workloads``), which plans may name."""
        from podium.engine.ownership import workload_owners
        from podium.serve.workloads import platform_workloads

        def read() -> list[dict[str, Any]]:
            found = list(platform_workloads(platform).values())
            owners = workload_owners(found, platform.root, platform.config.teams)
            return [{"name": w.name, "owner": owners.get(w.name)} for w in found]

        return await in_thread(who, read)

    @app.get(f"{API}/plans/{{plan_id}}", tags=["plans"])
    def get_plan(plan_id: str, who: Caller) -> dict[str, Any]:
        row = _plan_row(server, identifier(plan_id, "plan"))
        return {
            "id": row["id"],
            "environment": row["environment"],
            "team": row["team"],
            "who": row["who"],
            "digest": row["digest"],
            "created_at": row["created_at"],
            "run_id": row["run_id"],
            "approvals": server.store.approvals(plan_id),
            "plan": json.loads(row["data"]),
        }

    @app.post(f"{API}/plans/{{plan_id}}/approvals", tags=["plans"], status_code=201)
    async def approve(plan_id: str, who: Caller) -> dict[str, Any]:
        """Approve a plan as a second identity ([access.<env>] with_approval)."""
        row = _plan_row(server, identifier(plan_id, "plan"))

        def grant() -> dict[str, Any]:
            env = row["environment"]
            decision = access.decide_approval(platform, who, env, row["who"])
            access.enforce(platform, env, who, decision, subject=f"plan {plan_id}")
            server.store.approve(plan_id, who.subject, who.role)
            return {"plan": plan_id, "approvals": server.store.approvals(plan_id)}

        return await in_thread(who, grant)

    @app.post(f"{API}/plans/{{plan_id}}/apply", tags=["runs"], status_code=202)
    async def apply(plan_id: str, who: Caller) -> Any:
        """Apply a plan (once): returns the run, which goes on in the background."""
        row = _plan_row(server, identifier(plan_id, "plan"))

        def start() -> Any:
            run, taken = server.start_apply(who, plan_id, row)
            if taken is not None:
                return _error(409, f"plan {plan_id} was applied already", run=taken)
            return JSONResponse(run.to_dict(), status_code=202)

        return await in_thread(who, start)

    # ------------------------------------------------------------------- runs
    @app.get(f"{API}/runs", tags=["runs"])
    def runs(
        who: Caller,
        environment_name: Annotated[str | None, Query(alias="environment")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        if environment_name is not None:
            environment(environment_name)
        server.runs.settle_orphans()  # a run of a server that died since shows aborted
        return [r.to_dict() for r in server.store.runs(environment_name, limit)]

    @app.get(f"{API}/runs/{{run_id}}", tags=["runs"])
    def get_run(run_id: str, who: Caller) -> dict[str, Any]:
        identifier(run_id, "run")
        server.runs.settle_orphans()
        return _run_row(server, run_id).to_dict()

    @app.get(f"{API}/runs/{{run_id}}/events", tags=["runs"])
    async def run_events(run_id: str, who: Caller) -> StreamingResponse:
        """The run's progress as Server-Sent Events, from its start; ends with
        ``run.finished``."""
        row = _run_row(server, identifier(run_id, "run"))

        async def stream() -> AsyncIterator[str]:
            active = server.runs.active(run_id)
            quiet = 0.0
            if active is None:
                # Finished before the stream began, or run by a server before this one:
                # its outcome once it has one.
                while True:
                    await anyio.to_thread.run_sync(server.runs.settle_orphans)
                    final = server.store.run(run_id) or row
                    if final.status in FINISHED:
                        yield _sse(0, _finished(final))
                        return
                    await asyncio.sleep(0.5)
                    quiet += 0.5
                    if quiet >= 15:
                        quiet = 0.0
                        yield ": keep-alive\n\n"
            sent = 0
            while True:
                with active.changed:
                    events = list(active.events[sent:])
                for event in events:
                    yield _sse(sent, event)
                    sent += 1
                    if event.get("kind") == "run.finished":
                        return
                if events:
                    quiet = 0.0
                await asyncio.sleep(0.1)
                quiet += 0.1
                if quiet >= 15:
                    quiet = 0.0
                    yield ": keep-alive\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # ---------------------------------------------------------------- changes
    @app.post(
        f"{API}/environments/{{env}}/workloads/{{workload}}/rollback",
        tags=["runs"],
        status_code=202,
    )
    async def rollback(
        env: str, workload: str, who: Caller, to: Annotated[int | None, Query(ge=1)] = None
    ) -> Any:
        """Redeploy an earlier release (default: the last good one) as a run."""
        environment(env)
        name(workload, "workload")

        def start() -> Any:
            run = server.start_rollback(who, env, workload, to)
            return JSONResponse(run.to_dict(), status_code=202)

        return await in_thread(who, start)

    @app.post(f"{API}/environments/{{env}}/destroy", tags=["runs"], status_code=202)
    async def destroy(
        env: str, who: Caller, workload: Annotated[list[str] | None, Query()] = None
    ) -> Any:
        """Destroy the named workloads (admins: everything when none is named) as a run."""
        environment(env)
        names = [name(w, "workload") for w in workload or []]

        def start() -> Any:
            if not names and who.role != "admin":
                refused = access.Decision(
                    "destroy",
                    False,
                    "name the workloads to destroy (?workload=NAME); "
                    "only an admin may destroy a whole environment",
                )
                access.enforce(platform, env, who, refused)
            decision = access.decide_change(platform, who, "destroy", env)
            access.enforce(platform, env, who, decision, subject=", ".join(names) or "everything")
            run = server.runs.new_row("destroy", env, who)
            server.store.add_run(run)
            owner = None if who.role == "admin" else who.team

            def work(wait: float) -> dict[str, Any]:
                _plan, result = platform.destroy(
                    env, workloads=names or None, owner=owner, lock_timeout=wait
                )
                return _result_detail(result)

            server.runs.start(run, who, work)
            return JSONResponse(run.to_dict(), status_code=202)

        return await in_thread(who, start)

    # Added last, so outermost: the body limit first, then the plan shortcut.
    app.add_middleware(PlanShortcut, endpoint=plan_quickly, handlers=app.exception_handlers)
    app.add_middleware(BodyLimit, limit=server.platform.config.serve.max_body)
    return app


def _plans_are_local(platform: Platform, store: ServerStore) -> bool:
    """Whether a plan without refresh touches only local files: SQLite state and server
    store, a key file (no key provider to ask)."""
    config = platform.config
    return store.local and config.state.backend == "sqlite" and not config.secrets.key_provider


def _workload_names(body: bytes) -> list[str] | None:
    """The workload names of a JSON plan request (``None``: all of the platform's)."""
    if not body.strip():
        return None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InputError("the request body is not valid JSON") from None
    if not isinstance(document, dict) or set(document) - {"workloads"}:
        raise InputError('send a JSON object {"workloads": ["NAME", ...]}', field="workloads")
    names = document.get("workloads")
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError("workloads must be a list of workload names", field="workloads")
    for value in names:
        if not _NAME.fullmatch(value) or len(value) > 63:
            raise InputError(f"invalid workload name {value[:64]!r}", field="workloads")
    return names


def _plan_response(env: str, plan_id: str, digest: str, data: str) -> Response:
    # The plan's JSON is made once, for the store and the answer alike.
    head = json.dumps({"id": plan_id, "environment": env, "digest": digest})
    return Response(
        f'{head[:-1]}, "plan": {data}}}', status_code=201, media_type="application/json"
    )


def _plan_row(server: Server, plan_id: str) -> dict[str, Any]:
    row = server.store.plan(plan_id)
    if row is None:
        raise NotFoundError(f"no plan {plan_id}")
    return row


def _run_row(server: Server, run_id: str) -> RunRow:
    row = server.store.run(run_id)
    if row is None:
        raise NotFoundError(f"no run {run_id}")
    return row


def _result_detail(result: Any) -> dict[str, Any]:
    status = "cancelled" if result.cancelled else ("succeeded" if result.ok else "failed")
    return {
        "status": status,
        "counts": result.counts,
        "engine_run_id": result.run_id,
        "history_id": result.history_id,
        "failed": [{"node": r.uid, "message": r.message} for r in result.failed],
    }


def _finished(run: RunRow) -> dict[str, Any]:
    return {"kind": "run.finished", "status": run.status, "run": run.id, **run.detail}


def _sse(number: int, event: dict[str, Any]) -> str:
    data = json.dumps(event, default=str)
    return f"id: {number}\nevent: {event.get('kind', 'message')}\ndata: {data}\n\n"


def _digest(data: str) -> str:
    import hashlib

    return hashlib.sha256(data.encode()).hexdigest()


__all__ = ["API", "BodyLimit", "PlanShortcut", "Server", "create_app"]
