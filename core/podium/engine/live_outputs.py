"""Live outputs: secrets whose values Podium reads when it deploys and never stores.

A provisioner declares an output ``live`` (``Output(..., live=True)``) when its source
of truth stays outside Podium, like a secret kept in OpenBao. The engine then

* stores a *marker* in the resource's record instead of the value:
  ``{"$podium-live": <keyed fingerprint>}``. The fingerprint (an HMAC under the
  state's fingerprint key) changes when the value does, so a refresh that reads a
  rotated value finds the resource drifted, without anything able to recover it;
* renders workloads against a *reference* in its place (a :class:`Secret` holding
  ``@@podium-live[<uid>#<output>]@@``), so what a release records holds references
  only, and swaps every reference for the value the provisioner's ``read`` returns
  just before the deployer gets the workload (a rollback reads the current value).

Records written before (or by a provisioner without live outputs) hold the sealed
value and render as they always did.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from podium.errors import ResourceError
from podium.plugins.kinds import PROVISIONERS
from podium.security.secret import Secret

if TYPE_CHECKING:
    from podium.engine.runtime import EngineRuntime
    from podium.platform.contract import ResourceRecord

#: The key of a stored live output's marker.
MARKER = "$podium-live"

_REFERENCE = re.compile(r"@@podium-live\[([^\]]+)#([^\]#]+)\]@@")  # uids hold "#" too


def is_marker(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and MARKER in value


def stored(
    outputs: Mapping[str, Any], live: Iterable[str], fingerprint: Callable[[Secret], str]
) -> dict[str, Any]:
    """``outputs`` as state keeps them: each live output's value replaced by its marker."""
    kept = dict(outputs)
    for key in live:
        value = kept.get(key)
        if value is None or is_marker(value):
            continue
        secret = value if isinstance(value, Secret) else Secret(str(value))
        kept[key] = {MARKER: fingerprint(secret)}
    return kept


def stored_for(
    provisioner: Any, outputs: Mapping[str, Any], fingerprint: Callable[[Secret], str]
) -> dict[str, Any]:
    """:func:`stored` with the live outputs ``provisioner`` declares (for records made
    from a ``read``: an import, a reconciled create)."""
    from podium.provisioning.schema import resource_schema

    return stored(outputs, resource_schema(provisioner).live_outputs, fingerprint)


def reference(uid: str, key: str) -> str:
    """The text a workload is rendered with where it uses live output ``key`` of ``uid``."""
    return f"@@podium-live[{uid}#{key}]@@"


def with_references(uid: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """``outputs`` for rendering: each marker replaced by a Secret holding its reference
    (rendering makes any string it is part of a Secret too)."""
    return {
        key: Secret(reference(uid, key)) if is_marker(value) else value
        for key, value in outputs.items()
    }


def references(value: Any) -> set[tuple[str, str]]:
    """The (uid, output) pairs referenced anywhere in ``value`` (a rendered workload)."""
    found: set[tuple[str, str]] = set()

    def collect(text: str) -> str:
        found.update(_REFERENCE.findall(text))
        return text

    _walk(value, collect)
    return found


def _walk(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` with ``change`` applied to the text of every Secret in it (only Secrets
    can hold a reference: rendering makes any string containing one a Secret)."""
    if isinstance(value, Secret):
        text = value.reveal()
        if "@@podium-live[" not in text:
            return value
        return Secret(change(text))
    if isinstance(value, dict):
        return {k: _walk(v, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, change) for v in value]
    return value


class LiveValues:
    """Live output values for one run: those a create or update just returned, else read
    again from the resource's provisioner (once per resource and run)."""

    def __init__(self, rt: EngineRuntime, records: Mapping[str, ResourceRecord]) -> None:
        self._rt = rt
        self._records = records
        self._values: dict[tuple[str, str], Secret] = {}
        self._lock = threading.Lock()

    def remember(self, uid: str, outputs: Mapping[str, Any], live: Iterable[str]) -> None:
        """Keep the live values a create or update returned, for this run's renders."""
        with self._lock:
            for key in live:
                value = outputs.get(key)
                if value is not None and not is_marker(value):
                    self._values[uid, key] = value if isinstance(value, Secret) else Secret(value)

    def value(self, uid: str, key: str) -> Secret:
        with self._lock:
            found = self._values.get((uid, key))
        if found is None:
            self._read(uid)
            with self._lock:
                found = self._values.get((uid, key))
        if found is None:
            raise ResourceError(
                f"{uid}: its provisioner's read returned no {key!r}, a live output the "
                "workload uses (its value is never kept in state)",
                hint="check the secret still exists at its source, then plan --refresh",
            )
        return found

    def resolve(self, value: Any) -> Any:
        """``value`` (a rendered workload as a dict) with every reference swapped for its
        current value."""
        return _walk(value, self._swap)

    def resolve_outputs(self, uid: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
        """``outputs`` with each marker replaced by its current value (for params)."""
        return {k: self.value(uid, k) if is_marker(v) else v for k, v in outputs.items()}

    def _swap(self, text: str) -> str:
        return _REFERENCE.sub(lambda m: self.value(m.group(1), m.group(2)).reveal(), text)

    def _read(self, uid: str) -> None:
        from podium.provisioning.schema import resource_schema

        record = self._records.get(uid)
        if record is None:
            raise ResourceError(
                f"{uid}: a workload uses its live output, but the resource is not in state",
                hint="podium up provisions it again",
            )
        rt = self._rt
        registered = rt.plugins.registered(PROVISIONERS, record.provider)
        spec = rt.cipher.unseal(record.spec)
        ctx = rt.resource_context(uid, spec, record.physical_name or "")
        found = rt.plugins.call_instrumented(
            registered.plugin, f"{registered.name}.read", registered.obj.read, ctx
        )
        if found is None:
            raise ResourceError(
                f"{uid}: its provisioner no longer finds it, and a workload uses its live output",
                hint="podium plan --refresh shows what to create again",
            )
        self.remember(uid, found, resource_schema(registered.obj).live_outputs)
