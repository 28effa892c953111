"""What the engine needs from a platform to run: assembled once per plan or apply."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from podium.config.models import EngineSection, EnvironmentSection, RuleSection
from podium.errors import CancelledError, LeaseLostError, Location, LockedError
from podium.observability.contract import Event
from podium.platform.context import EnvironmentInfo
from podium.platform.contract import LockInfo, StateStore
from podium.provisioning.contract import ResourceContext
from podium.security.secret import Secret

if TYPE_CHECKING:
    from podium.plugins.manager import PluginManager
    from podium.security.crypto import StateCipher
    from podium.workload.model import Workload

T = TypeVar("T")


@dataclass
class EngineRuntime:
    """The platform pieces the engine works with, for one environment."""

    platform: str
    env: EnvironmentInfo
    env_config: EnvironmentSection
    rules: list[RuleSection]
    store: StateStore
    plugins: PluginManager
    #: the state key, loaded on first use: planning (and verifying a saved plan) reads no
    #: secret, so it works without the key unless refresh or recovery must unseal one
    cipher_source: Callable[[], StateCipher]
    engine: EngineSection
    emit: Callable[[Event], None]
    lock_ttl: float = 60.0
    tracer: Any = None
    workloads: dict[str, Workload] = field(default_factory=dict)
    #: where a config key is in podium.toml (rules, for ``plan -v``); None without a file
    locate: Callable[[tuple[str | int, ...]], Location | None] | None = None

    @cached_property
    def cipher(self) -> StateCipher:
        # One key for the whole operation: loaded (and checked) once, not per node.
        return self.cipher_source()

    def event(self, kind: str, node: str | None = None, message: str = "", **data: Any) -> None:
        self.emit(
            Event(
                kind=kind,
                platform=self.platform,
                environment=self.env.environment,
                node=node,
                message=message,
                data=data,
            )
        )

    def resource_context(
        self,
        uid: str,
        spec: dict[str, Any],
        physical_name: str,
        params: dict[str, Any] | None = None,
    ) -> ResourceContext:
        """The context a provisioner gets for node ``uid`` with node spec ``spec``.

        ``params`` default to the spec's rule params overlaid with its own (unresolved).
        """
        if params is None:
            params = {**(spec.get("rule_params") or {}), **(spec.get("params") or {})}
        return ResourceContext(
            uid=uid,
            type=spec["type"],
            resource_class=spec.get("class", "default"),
            id=spec.get("id"),
            workload=spec.get("workload"),
            params=params,
            physical_name=physical_name,
            env=self.env,
            annotations=spec.get("annotations") or {},
            _generator=self.generator(uid),
        )

    def generator(self, node: str) -> Callable[[str, Callable[[], str]], Secret]:
        """Generated secrets for ``node``: journaled encrypted before first use."""

        def generate(key: str, factory: Callable[[], str]) -> Secret:
            token = self.store.get_generated(node, key)
            if token is not None:
                return Secret(self.cipher.decrypt(token))
            value = factory()
            self.store.put_generated(node, key, self.cipher.encrypt(value))
            return Secret(value)

        return generate


class _StateNotOpened:
    """Stands in for the store or key of a runtime that must not touch state (``validate``)."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"{self._what} is not opened here (validation touches no state)")


def state_not_opened(what: str) -> Any:
    """A placeholder for ``EngineRuntime.store``/``cipher`` that fails if it is ever used."""
    return _StateNotOpened(what)


class LeaseLock:
    """Holds the state lock for one run and renews its lease in the background.

    Fencing: once held, :attr:`fenced` is the store this run must write through (each
    write refused once a later lease exists) and :meth:`check` says whether the run
    may start anything more; see :mod:`podium.state.fence`.
    """

    def __init__(
        self,
        store: StateStore,
        ttl: float,
        operation: str,
        actor: str | None = None,
        *,
        timeout: float = 0.0,
        stop: threading.Event | None = None,
        on_wait: Callable[[LockedError], None] | None = None,
    ) -> None:
        """``actor`` names the holder (default: :func:`podium.identity.actor`).

        ``timeout``: seconds to wait for a lease another run holds (0: fail at once);
        ``stop`` cancels the wait; ``on_wait`` is told once when waiting begins.
        """
        if actor is None:
            from podium.identity import actor as current_actor

            actor = current_actor()
        from podium.state.lease import lease_identity

        self.store = store
        self.ttl = ttl
        self.run_id = uuid.uuid4().hex
        now = time.time()
        me = lease_identity()
        self.info = LockInfo(
            owner=actor,
            host=me.host,
            pid=me.pid,
            run_id=self.run_id,
            acquired_at=now,
            expires_at=now + ttl,
            operation=operation,
            boot_id=me.boot_id,
            pid_namespace=me.pid_namespace,
        )
        self.timeout = timeout
        self._cancel = stop
        self._on_wait = on_wait
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: set when renewal failed (another run took the lease): stop starting new work
        self.lost: Exception | None = None
        #: the expired or dead lease this run took over, if any
        self.took_over: LockInfo | None = None
        #: the store as this run writes it: fenced by the lease's epoch once it is held
        self.fenced: StateStore = store
        #: the lease's fencing epoch (0: the backend does not fence)
        self.epoch = 0
        self._renewing = threading.Lock()
        self._confirmed = time.monotonic()  # when the lease was last known to be ours

    def __enter__(self) -> LeaseLock:
        from podium.state.fence import guard

        self.took_over = wait_for_lease(
            lambda: self.store.acquire_lock(self.info), self.timeout, self._cancel, self._on_wait
        )
        self._confirmed = time.monotonic()
        granted = self.store.lock_info()
        if granted is None or granted.run_id != self.run_id:
            raise LeaseLostError("the state lease was taken over as soon as it was granted")
        if granted.epoch:
            self.epoch = granted.epoch
            self.fenced = guard(self.store.fenced(granted.epoch), self._fence_tripped)
        else:
            logging.getLogger("podium").warning(
                "state backend %s does not fence writes (plugin API 1.2): a run that loses "
                "its lease is stopped only by the lease renewal",
                type(self.store).__name__,
            )
        if self.took_over is not None:
            from podium.engine.audit import settle_after_takeover

            settle_after_takeover(self.store, self.run_id, self.took_over)
        self._thread = threading.Thread(target=self._renew, name="podium-lease", daemon=True)
        self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            if not self._renew_now():
                return

    def _renew_now(self) -> bool:
        """Renew the lease now; False (and :attr:`lost` set) if it is not ours any more."""
        with self._renewing:
            if self.lost is not None:
                return False
            try:
                self.store.renew_lock(self.run_id, time.time() + self.ttl)
            except LeaseLostError as exc:
                self.lost = exc
                return False
            except Exception as exc:
                # The state did not answer (a server restart, a network blip): the lease
                # is ours until it expires, and fencing guards the writes meanwhile.
                if time.monotonic() - self._confirmed >= self.ttl:
                    self.lost = exc
                    return False
                return True
            self._confirmed = time.monotonic()
            return True

    def _fence_tripped(self, exc: LeaseLostError) -> None:
        if self.lost is None:
            self.lost = exc

    def still_held(self) -> bool:
        """Whether this run may start more work: False once the lease is known lost.

        Costs nothing while renewals are on time. When the last confirmation is older
        than half the TTL (the process was paused, or starved), the lease is renewed
        here first, so a run resumed after its lease expired stops before acting.
        """
        if self.lost is None and time.monotonic() - self._confirmed > self.ttl / 2:
            self._renew_now()
        return self.lost is None

    def check(self) -> None:
        """Raise :class:`~podium.errors.LeaseLostError` unless :meth:`still_held`."""
        if not self.still_held():
            raise self.lost_error()

    def lost_error(self, results: Sequence[Any] = ()) -> LeaseLostError:
        """Why this run stopped, naming what of ``results`` (NodeResults) may be in flight."""
        from podium.state.fence import lost_lease_report

        return lost_lease_report(self.run_id, self.lost, results)

    def raise_if_lost(self, results: Sequence[Any]) -> None:
        """After a run: raise :meth:`lost_error` if the lease was lost while it ran."""
        if self.lost is not None:
            raise self.lost_error(results)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.lost is None:
            self.store.release_lock(self.run_id)


_FIRST_POLL = 0.05  # seconds; doubles up to _LAST_POLL while the lease stays held
_LAST_POLL = 1.0
LOCK_TIMEOUT_HINT = (
    "wait for that run to finish (--lock-timeout SECONDS, or lock_timeout= in the API, waits "
    "for it); if it is gone for good, run 'podium state unlock'"
)


def wait_for_lease(
    attempt: Callable[[], T],
    timeout: float,
    stop: threading.Event | None = None,
    on_wait: Callable[[LockedError], None] | None = None,
) -> T:
    """Call ``attempt`` until it stops raising :class:`LockedError` or ``timeout`` seconds pass.

    Polls with a doubling delay (another run's lease is usually held for seconds to
    minutes, so there is no point in hammering the state). ``stop`` cancels the wait
    with :class:`~podium.errors.CancelledError`. The error raised at the end says how
    long it waited and how to wait longer.
    """
    deadline = time.monotonic() + max(0.0, timeout)
    delay = _FIRST_POLL
    told = False
    while True:
        try:
            return attempt()
        except LockedError as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                waited = f" (waited {timeout:g}s)" if timeout > 0 else ""
                raise LockedError(exc.message + waited, hint=LOCK_TIMEOUT_HINT) from None
            if not told and on_wait is not None:
                told = True
                on_wait(exc)
            pause = min(delay, remaining)
            if stop is None:
                time.sleep(pause)
            elif stop.wait(pause):
                raise CancelledError("cancelled while waiting for the state lock") from None
            delay = min(delay * 2, _LAST_POLL)


def wait_until_unlocked(
    store: StateStore,
    where: str,
    timeout: float,
    stop: threading.Event | None = None,
    on_wait: Callable[[LockedError], None] | None = None,
) -> None:
    """Wait up to ``timeout`` seconds until no live run holds the lease (without taking it).

    For a plan that should reflect what a running apply is about to record.
    """
    from podium.state.lease import locked_error, takeover_reason

    def free() -> None:
        held = store.lock_info()
        if held is not None and takeover_reason(held) is None:
            raise locked_error(held, where)

    wait_for_lease(free, timeout, stop, on_wait)
