"""The audit trail: history records every change and every attempt, not only applies.

History (one list per environment in its state) is Podium's one audit trail. Besides
the runs of ``apply``, ``up`` and ``destroy`` it records, each with its actor
(:func:`podium.identity.actor`):

* **blocked** attempts: an apply, up or destroy refused by a mandatory policy finding,
  the data-loss guard, an ownership check or a saved plan that does not verify —
  status ``blocked``, ``reason`` one of :data:`BLOCK_REASONS`, and the error message;
* **reveals** of secret values (``outputs --show-secrets``, ``secrets get --reveal``):
  which nodes or key, never the values;
* **state edits** (``state unlock``, ``state forget``, ``state import``);
* **aborted** runs: a run whose process died (SIGKILL, a reboot) stays ``running`` in
  state until the next run takes its lock over (or ``state unlock`` removes it) and
  settles it ``aborted``; until then :func:`read_history` shows it ``aborted`` when no
  live lock belongs to it.

Rollbacks and secret changes are recorded where they happen (``Platform.rollback``,
``Platform.set_secret``). :func:`kind_of` sorts every entry, old ones too, into one of
:data:`KINDS` for ``podium history --kind``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from podium.errors import OwnershipError, PlanVerificationError, PolicyBlockedError

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.platform.contract import LockInfo, StateStore

#: what ``podium history --kind`` filters on
KINDS = ("run", "rollback", "secret", "state", "blocked", "reveal", "access")
BLOCK_REASONS = ("policy", "data-loss", "ownership", "unverified-plan", "access")
#: the errors that make an attempt ``blocked`` (a refusal of what was asked, not a fault)
REFUSALS = (PolicyBlockedError, OwnershipError, PlanVerificationError)
#: how many recent entries a settle or a filtered read looks through
_WINDOW = 1000

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: the outermost audited operation of this context (``up`` is a plan and an ``apply``)
_OPERATION: ContextVar[str | None] = ContextVar("podium_audited_operation", default=None)


def now() -> str:
    return datetime.now(UTC).isoformat()


# --------------------------------------------------------------------- writing
def record(
    store: StateStore,
    who: str,
    operation: str,
    *,
    kind: str,
    status: str = "succeeded",
    summary: str = "",
    workloads: Sequence[str] = (),
    changes: Sequence[dict[str, Any]] = (),
    **extra: Any,
) -> int:
    """Add one finished entry to ``store``'s history; returns its id."""
    return store.add_history(
        {
            "run_id": "",
            "operation": operation,
            "kind": kind,
            "who": who,
            "finished_at": now(),
            "status": status,
            "summary": summary,
            "workloads": list(workloads),
            "changes": list(changes),
            **extra,
        }
    )


def record_in(platform: Platform, envs: Iterable[str], operation: str, **entry: Any) -> None:
    """:func:`record` in the history of each of ``envs``, with the platform's actor.

    The state key is bound first: a new state written without it could never get one
    later. Without the key (a CI job planning without it), only a state that already
    holds something is written to: its key check is already there.
    """
    from podium.errors import StateError
    from podium.security.key_check import holds_data

    for env in envs:
        store = platform.store(env)
        try:
            platform.cipher(env)
        except StateError:
            if not holds_data(store):
                raise
        record(store, platform.actor, operation, **entry)


def record_reveal(
    platform: Platform, env: str | None, what: str, subjects: Sequence[str], operation: str
) -> None:
    """Record that secret values were shown: ``subjects`` (uids or keys), never the values.

    A platform-wide secret (``env`` None) is recorded in every environment it serves.
    """
    envs = [env] if env is not None else platform.environments
    record_in(
        platform,
        envs,
        operation,
        kind="reveal",
        summary=f"revealed {what}",
        changes=[
            {"uid": s, "action": "reveal", "status": "succeeded", "message": what} for s in subjects
        ],
    )


def record_state_edit(platform: Platform, env: str, command: str, summary: str, uid: str) -> None:
    """Record a ``podium state`` command that changed state (unlock, forget, import)."""
    record_in(
        platform,
        [env],
        f"state {command}",
        kind="state",
        summary=summary,
        changes=[{"uid": uid, "action": command, "status": "succeeded", "message": summary}]
        if uid
        else [],
    )


def record_automatic_rollback(
    store: StateStore, lease: Any, run_id: str, uid: str, workload: str, note: str
) -> None:
    """Record the rollback an apply made by itself (``rollback_on_failure``), besides the
    apply's own entry, so ``history --kind rollback`` lists every rollback."""
    from podium.identity import actor

    who = lease.info.owner if lease is not None else actor()
    record(
        store,
        who,
        "rollback",
        kind="rollback",
        summary=f"automatic: {note}",
        workloads=[workload],
        changes=[{"uid": uid, "action": "rollback", "status": "succeeded", "message": note}],
        run_id=run_id,
    )


def settle_abandoned_runs(store: StateStore, live_run_id: str, why: str) -> list[int]:
    """Mark ``aborted`` every ``running`` entry except ``live_run_id``'s; returns their ids.

    Call it holding the environment's lock (or having just removed a dead holder's):
    then no other run of the environment is alive to finish its entry.
    """
    settled: list[int] = []
    for entry in store.history(_WINDOW):
        if entry.get("status") != "running" or entry.get("run_id") == live_run_id:
            continue
        entry_id = int(entry["id"])
        settled_entry = {k: v for k, v in entry.items() if k != "id"}
        settled_entry.update(status="aborted", aborted=why, finished_at=now())
        store.update_history(entry_id, settled_entry)
        settled.append(entry_id)
    return settled


def settle_after_takeover(store: StateStore, run_id: str, held: LockInfo) -> None:
    """A run took over the expired or dead lease ``held``: the runs still ``running`` in
    history died without finishing. Never fails the run that took the lock over."""
    try:
        settle_abandoned_runs(
            store, run_id, f"run {run_id} took over the lock of {held.owner} (pid {held.pid})"
        )
    except Exception as failure:
        from podium.observability.logging import get_logger

        get_logger("podium.audit").warning(
            "could not mark abandoned runs aborted in history", error=str(failure)
        )


# --------------------------------------------------------------------- reading
def kind_of(entry: dict[str, Any]) -> str:
    """Which of :data:`KINDS` an entry is (entries written before kinds existed too)."""
    if entry.get("status") == "blocked":
        return "blocked"
    if entry.get("kind") in KINDS:
        return str(entry["kind"])
    operation = str(entry.get("operation", ""))
    if operation == "rollback":
        return "rollback"
    if operation.startswith("secrets"):
        return "secret"
    if operation.startswith("state"):
        return "state"
    return "run"


def read_history(store: StateStore, limit: int, kinds: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The most recent ``limit`` entries (of ``kinds`` only, if given), newest first,
    each with its ``kind`` (:func:`kind_of`).

    A ``running`` entry no live lock belongs to is shown ``aborted``: its process is
    gone, and the next run will record it so.
    """
    entries = [{**e, "kind": kind_of(e)} for e in store.history(_WINDOW if kinds else limit)]
    if kinds:
        entries = [e for e in entries if e["kind"] in kinds][:limit]
    if any(e.get("status") == "running" for e in entries):
        live = _live_run_id(store.lock_info())
        for entry in entries:
            if entry.get("status") == "running" and entry.get("run_id") != live:
                entry.update(status="aborted", aborted="its process is gone")
    return entries


def _live_run_id(held: LockInfo | None) -> str | None:
    from podium.state.lease import takeover_reason

    if held is None or takeover_reason(held) is not None:
        return None
    return held.run_id


def describe(entry: dict[str, Any]) -> str:
    """One line for a human: the workloads, then the counts, the summary or the reason."""
    counts = entry.get("counts") or {}
    parts = [", ".join(f"{v} {k}" for k, v in counts.items() if v and k != "no-op")]
    if entry.get("take_over"):
        parts.append(f"took over {', '.join(entry['take_over'])}")
    if entry.get("allowed_data_loss"):
        parts.append(f"allowed data loss of {', '.join(entry['allowed_data_loss'])}")
    if entry.get("status") == "blocked":
        parts.append(f"{entry.get('reason', '')}: {_first_line(entry.get('message', ''))}")
    elif entry.get("summary"):
        parts.append(str(entry["summary"]))
    elif not counts:
        parts.extend(str(c.get("message", "")) for c in entry.get("changes") or [])
    if entry.get("aborted"):
        parts.append(f"aborted: {entry['aborted']}")
    text = "; ".join(p for p in parts if p)
    names = ", ".join(entry.get("workloads") or [])
    return f"{names}: {text}" if names and text else names or text


def _first_line(text: str) -> str:
    """The gist of an error: its first line, with the first item when that line ends in
    a colon (``2 mandatory policy finding(s) block apply: builtin.x: ...``)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else ""


# -------------------------------------------------------------------- refusals
def block_reason(error: Exception) -> str:
    """Which of :data:`BLOCK_REASONS` a refusal is."""
    if isinstance(error, OwnershipError):
        return "ownership"
    if isinstance(error, PlanVerificationError):
        return "unverified-plan"
    from podium.engine.data_loss import POLICY

    return "data-loss" if f"{POLICY}:" in str(getattr(error, "message", error)) else "policy"


@contextmanager
def attempt(operation: str) -> Iterator[None]:
    """Name the operation the calls inside belong to: a caller that plans and applies
    in two steps (the CLI's ``up`` asks in between) has its refusals recorded as
    ``operation``. Usable as a decorator."""
    token = _OPERATION.set(_OPERATION.get() or operation)
    try:
        yield
    finally:
        _OPERATION.reset(token)


def audited(
    operation: str,
    target: Callable[..., tuple[str, list[str]]],
    *,
    only_inside: bool = False,
) -> Callable[[Callable[Concatenate[Platform, _P], _R]], Callable[Concatenate[Platform, _P], _R]]:
    """Record in history an attempt of ``operation`` that :data:`REFUSALS` block.

    ``target(platform, *args, **kwargs)`` names the environment and the workloads the
    call is about. Nested audited calls (``up`` applies its plan) record one entry,
    under the outermost operation's name. ``only_inside``: record only inside another
    operation (a plan alone changes nothing, so its refusal is no attempt). Recording
    never hides the refusal: if the history cannot be written, a warning is logged and
    the refusal raised as it was.
    """

    def wrap(
        method: Callable[Concatenate[Platform, _P], _R],
    ) -> Callable[Concatenate[Platform, _P], _R]:
        @wraps(method)
        def run(self: Platform, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            outer = _OPERATION.get()
            token = _OPERATION.set(outer or operation)
            try:
                return method(self, *args, **kwargs)
            except REFUSALS as error:
                if (outer or not only_inside) and not getattr(error, "_podium_audited", False):
                    error._podium_audited = True  # type: ignore[union-attr]
                    _record_refusal(self, outer or operation, target, args, kwargs, error)
                raise
            finally:
                _OPERATION.reset(token)

        return run

    return wrap


def _record_refusal(
    platform: Platform,
    operation: str,
    target: Callable[..., tuple[str, list[str]]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: Exception,
) -> None:
    try:
        env, workloads = target(platform, *args, **kwargs)
        if env not in platform.environments:
            return  # an unknown environment has no history to write to
        reason = block_reason(error)
        plan = args[0] if args and hasattr(args[0], "changes") else None  # apply(plan)
        record_in(
            platform,
            [env],
            operation,
            kind="blocked",
            status="blocked",
            reason=reason,
            message=str(getattr(error, "message", error)),
            workloads=workloads,
            **({"plan_digest": plan_digest(plan)} if plan is not None else {}),
        )
    except Exception as failure:
        from podium.observability.logging import get_logger

        get_logger("podium.audit").warning(
            "could not record a blocked attempt in history", error=str(failure)
        )


def plan_digest(plan: Any) -> str:
    """SHA-256 (hex) of the plan's RFC 8785 canonical JSON: which plan a run applied."""
    import hashlib

    from podium.state.audit_chain import canonical_json

    # canonical_json masks secrets as it walks: no separate redacting copy of the plan.
    return hashlib.sha256(canonical_json(plan.to_dict(redacted=False))).hexdigest()


# ------------------------------------------------------ targets of the refusals
def plan_workload_names(plan: Any) -> list[str]:
    """The workloads a plan is about: its Score files' (a destroy has none: then the
    workloads whose nodes it changes, or those it names)."""
    names = [w["name"] for w in plan.workloads]
    if names:
        return names
    changed = sorted({c.workload for c in plan.changes if c.workload and c.action != "no-op"})
    return changed or sorted(plan.scope or [])


def plan_target(_platform: Platform, plan: Any, *_: Any, **__: Any) -> tuple[str, list[str]]:
    """``apply(plan)``: the plan's environment and workloads."""
    return plan.environment, plan_workload_names(plan)


def files_target(
    platform: Platform, env: str, files: Any = (), *_: Any, **__: Any
) -> tuple[str, list[str]]:
    """``up(env, files)``: the workloads of the files (when they can be read again)."""
    names: list[str] = []
    if isinstance(files, list | tuple):
        try:
            names = [w.name for w in platform.load_workloads(files)]
        except Exception:
            names = []
    return env, names


def plan_call_target(
    platform: Platform,
    env: str,
    files: Any = (),
    *_: Any,
    workloads: Sequence[str] | None = None,
    **__: Any,
) -> tuple[str, list[str]]:
    """``plan(env, files, workloads=...)`` inside an up or destroy."""
    return env, files_target(platform, env, files)[1] or list(workloads or [])


def destroy_target(
    _platform: Platform, env: str, *_: Any, workloads: Sequence[str] | None = None, **__: Any
) -> tuple[str, list[str]]:
    """``destroy(env, workloads=...)``: the named workloads (none: everything)."""
    return env, list(workloads or [])


__all__ = [
    "BLOCK_REASONS",
    "KINDS",
    "REFUSALS",
    "attempt",
    "audited",
    "block_reason",
    "describe",
    "destroy_target",
    "files_target",
    "kind_of",
    "plan_call_target",
    "plan_digest",
    "plan_target",
    "plan_workload_names",
    "read_history",
    "record",
    "record_automatic_rollback",
    "record_in",
    "record_reveal",
    "record_state_edit",
    "settle_abandoned_runs",
    "settle_after_takeover",
]
