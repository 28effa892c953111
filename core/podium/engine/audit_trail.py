"""Reading and verifying an environment's hash-chained audit trail.

The records are what :mod:`podium.state.audit_chain` defines and a chaining state
backend stores; ``podium history`` shows the same records, one line per entry
(its latest record). Here they are listed one line per record, with the facts an
auditor asks for (who, what, when, plan digest, result, decision) and their hash,
and the chain is verified end to end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.errors import StateError
from podium.state.audit_chain import ChainVerifier, Verdict

if TYPE_CHECKING:
    from podium.platform.contract import StateStore

#: Records read per round trip while verifying.
_PAGE = 500


def require_chain(store: StateStore, env: str) -> None:
    """Refuse (fail closed) a backend that keeps no hash chain: nothing could be verified."""
    if not getattr(store, "audit_chained", False):
        raise StateError(
            f"the state backend of environment {env!r} ({type(store).__name__}) keeps its "
            "history without a hash chain: its audit trail cannot be verified",
            hint="use the sqlite or postgres state backend for a verifiable audit trail",
        )


def list_records(store: StateStore, env: str, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` records of ``env``'s chain, newest first, each a dict with
    its ``environment``, ``kind`` and ``entry`` (the entry as recorded)."""
    from podium.engine.audit import kind_of

    require_chain(store, env)
    head = store.audit_head()
    last = head.seq if head is not None else 0
    records = store.audit_records(max(0, last - limit), limit)
    listed = []
    for record in reversed(records):
        item = record.to_dict()
        entry = _entry(record.data)
        item.update(environment=env, kind=kind_of(entry), entry=entry)
        del item["data"]
        listed.append(item)
    return listed


def verify(store: StateStore, env: str) -> Verdict:
    """Verify ``env``'s whole chain against its head; the verdict names the first bad record.

    The head is read first and records up to it only are checked, so appends made
    meanwhile (a run going on) neither fail nor slow the check.
    """
    require_chain(store, env)
    head = store.audit_head()
    verifier = ChainVerifier()
    after = 0
    end = head.seq if head is not None else None
    while end is None or after < end:
        page = store.audit_records(after, _PAGE)
        if end is not None:
            page = [r for r in page if r.seq <= end]
        if not page:
            break
        for record in page:
            if not verifier.feed(record):
                return verifier.finish(head)
        after = page[-1].seq
    return verifier.finish(head)


def _entry(data: str) -> dict[str, Any]:
    import json

    try:
        parsed = json.loads(data)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


__all__ = ["list_records", "require_chain", "verify"]
