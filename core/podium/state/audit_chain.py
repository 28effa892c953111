"""The audit trail's hash chain: what each record stores, its hash, and how a chain verifies.

History is Podium's one audit trail (:mod:`podium.engine.audit`). A backend that
chains it (SQLite, podium-postgres) keeps it **append-only**: every call of
``add_history`` or ``update_history`` appends one :class:`AuditRecord`, and no
record is ever changed or deleted. A run that goes ``running`` → ``succeeded``
therefore leaves two records: the first, appended when it started, and an
*outcome* record whose ``entry_id`` names the first. ``history()`` shows each
entry as its latest record, so ``podium history`` reads the same records as
``podium audit list``.

Why outcome records rather than chaining only final entries: a start is a fact
worth protecting at once (who began what, and when). A run whose process is
killed never writes its outcome; had its entry waited to be chained until it
finished, the start of exactly the runs an auditor most wants to see would have
stayed editable. Appending keeps every record immutable from the moment it is
written, so the chain is in write order and verifies from the first record on.

Each record stores who, what, when (the time it was appended), the plan digest,
the result and the decision (:func:`facts_of`), the entry's JSON, its position
``seq`` (1, 2, ... per environment) and ``hash = SHA-256(canonical JSON of its
content and the previous record's hash)``, canonical JSON being RFC 8785 (JCS).
The environment's *head* (the last ``seq`` and ``hash``) is kept beside the
chain, so deleting the newest records is noticed too.

What a chain proves: a record edited or deleted without recomputing every later
hash is found by :func:`verify_chain`, which names the first bad record. Someone
able to rewrite the database *and* recompute the whole chain is caught only by
comparing the head with a copy kept elsewhere (``podium audit verify`` prints it).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson
import rfc8785

from podium.security.secret import REDACTED, Secret

#: The ``prev_hash`` of an environment's first record.
GENESIS_HASH = "0" * 64
#: The version of the hashed content's layout (part of every hash).
CHAIN_VERSION = 1
#: ``origin`` of a record appended by a write, and of one sealed into the chain by the
#: schema migration that introduced it (entries written before chaining existed).
APPENDED = "append"
MIGRATED = "migration"
#: The ``decision`` of an entry that was not refused (writers may set their own,
#: e.g. an access check's ``denied``).
ALLOWED = "allowed"


@dataclass(frozen=True)
class AuditFacts:
    """What an auditor asks of a record, stored in columns of their own."""

    who: str
    what: str
    recorded_at: str
    plan_digest: str
    result: str
    decision: str


@dataclass(frozen=True)
class AuditRecord:
    """One immutable record of an environment's audit trail.

    ``id`` is the row's id; ``entry_id`` the history entry it belongs to (its own
    ``id`` for a new entry, the entry's first record's for an outcome).
    ``data`` is the entry as stored (JSON text).
    """

    seq: int
    id: int
    entry_id: int
    origin: str
    who: str
    what: str
    recorded_at: str
    plan_digest: str
    result: str
    decision: str
    data: str
    prev_hash: str
    hash: str

    @property
    def is_outcome(self) -> bool:
        """Whether this record settles an earlier entry (a run's outcome)."""
        return self.entry_id != self.id

    def entry(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.data)
        return parsed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AuditHead:
    """The last record of a chain: its ``seq`` (0 for an empty chain) and ``hash``."""

    seq: int
    hash: str


#: RFC 8785 represents numbers as IEEE doubles: integers beyond this are not exact there.
_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: Any) -> bytes:
    """``value`` as RFC 8785 canonical JSON (UTF-8).

    The few values JCS cannot represent (integers beyond 2**53, NaN and infinities,
    which Python's json module writes, and lone surrogates) are hashed as text, so
    any entry a backend accepted can be chained. Secrets are masked as a plan file
    masks them (:data:`~podium.security.secret.REDACTED`).
    """
    direct = _encoded_directly(value)
    return direct if direct is not None else _canonical_json_walked(value)


def _canonical_json_walked(value: Any) -> bytes:
    """:func:`canonical_json` by reshaping ``value`` first: for any value, however unusual."""
    exact = [True]
    shaped = _representable(value, exact)
    if exact[0]:
        # Without floats and astral-plane keys, the json module's sorted, compact, UTF-8
        # output is byte for byte RFC 8785, in C: a 2,000-node plan took 0.3 s in rfc8785.
        text = json.dumps(shaped, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode()
    return rfc8785.dumps(shaped)


def _masked(value: Any) -> str:
    """orjson's hook for what it does not write itself: a Secret is masked; anything
    else (a subclass, a dataclass, a date...) is left to the reshaping path."""
    if type(value) is Secret:
        return REDACTED
    raise TypeError(f"{type(value).__name__} is left to the reshaping path")


#: orjson with sorted keys; subclasses, dataclasses and dates reach :func:`_masked`
#: (which refuses them) instead of being written in orjson's own way.
_DIRECT_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
#: A character beyond U+FFFF (a 4-byte UTF-8 sequence): RFC 8785 sorts keys by UTF-16
#: code units, orjson by code points.
_ASTRAL = re.compile(b"[\xf0-\xf4]")


def _encoded_directly(value: Any) -> bytes | None:
    """:func:`canonical_json` written by orjson straight from ``value``, or ``None``
    when that could differ by a byte from :func:`_canonical_json_walked`.

    Reshaping a 2,000-node plan (~90k values) in Python took longer than writing it:
    here orjson writes it in native code (sorted keys, compact, UTF-8, the escapes
    RFC 8785 asks for; 8x faster than the json module), and a check that visits only
    the values that are not strings, ``None`` or booleans (:func:`_writes_as_is`)
    confirms that reshaping would have changed nothing. orjson refuses what it cannot
    write exactly (a cycle, a lone surrogate, a non-string key, an integer beyond 64
    bits): that value takes the reshaping path.
    """
    try:
        data = orjson.dumps(value, default=_masked, option=_DIRECT_OPTIONS)
    except (TypeError, ValueError, RecursionError):
        return None
    if not _writes_as_is(value):
        return None
    if not data.isascii() and _ASTRAL.search(data):  # keys may sort differently (rare)
        return None
    return data


def _writes_as_is(value: Any) -> bool:
    """Whether :func:`_representable` would return ``value`` unchanged but for its
    secrets: only dicts (exact type) with str keys, lists, tuples, strings, ``None``,
    booleans, integers within 2**53, floats orjson writes as RFC 8785 does
    (not integral, no exponent) and :class:`~podium.security.secret.Secret` values.
    Anything else (a subclass too) is left to the reshaping path."""
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            for key, inner in item.items():
                if type(key) is not str:
                    return False
                if type(inner) is not str and inner is not None and type(inner) is not bool:
                    push(inner)
        elif kind is list or kind is tuple:
            for inner in item:
                if type(inner) is not str and inner is not None and type(inner) is not bool:
                    push(inner)
        elif kind is int:
            if not -_SAFE_INTEGER <= item <= _SAFE_INTEGER:
                return False
        elif kind is float:
            # integral: written as an int; an exponent: written differently (or NaN/inf)
            if item.is_integer() or not math.isfinite(item) or "e" in repr(item):
                return False
        elif kind is not str and kind is not bool and item is not None and kind is not Secret:
            return False
    return True


def _representable(value: Any, exact: list[bool]) -> Any:
    """``value`` as RFC 8785 can write it; ``exact[0]`` is cleared when the json module
    would write it differently (a float with an exponent: "1e-07" is "1e-7" in RFC 8785;
    a key beyond U+FFFF: RFC 8785 sorts keys by UTF-16 code units, Python by code points).
    An integral float becomes the int RFC 8785 writes it as."""
    if type(value) is str and value.isascii():  # most values
        return value
    if isinstance(value, dict):
        shaped = {}
        for key, item in value.items():
            key = str(key)
            if exact[0] and not key.isascii() and max(key) > "\uffff":
                exact[0] = False
            shaped[key] = _representable(item, exact)
        return shaped
    if isinstance(value, list | tuple):
        return [_representable(v, exact) for v in value]
    if isinstance(value, Secret):
        return REDACTED  # never hashed: a digest of a secret could be guessed back
    if isinstance(value, str):
        if value.isascii():
            return value
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate, which JSON text may carry
            return value.encode("utf-8", "surrogatepass").hex()
        return value
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and abs(value) > _SAFE_INTEGER:
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return repr(value)
        if value.is_integer() and abs(value) <= _SAFE_INTEGER:
            return int(value)  # RFC 8785 writes 2.0 as "2", as json writes the int 2
        if "e" in repr(value):
            exact[0] = False  # exponents are written differently ("1e-07" / "1e-7")
        # else: the shortest round-trip digits, which both write the same way
        return value
    if hasattr(value, "get_secret_value"):
        return str(value)  # a pydantic secret's own masked text
    return value


def facts_of(entry: Mapping[str, Any], recorded_at: str) -> AuditFacts:
    """The facts of a history entry appended at ``recorded_at``."""
    operation = str(entry.get("operation", ""))
    workloads = ", ".join(str(w) for w in entry.get("workloads") or [])
    status = str(entry.get("status", ""))
    decision = entry.get("decision")
    if not decision:
        decision = f"blocked ({entry.get('reason', '')})" if status == "blocked" else ALLOWED
    return AuditFacts(
        who=str(entry.get("who", "")),
        what=f"{operation} {workloads}".strip(),
        recorded_at=recorded_at,
        plan_digest=str(entry.get("plan_digest", "")),
        result=status,
        decision=str(decision),
    )


def record_hash(
    *,
    seq: int,
    id: int,
    entry_id: int,
    origin: str,
    facts: AuditFacts,
    data: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the record's canonical content, which includes ``prev_hash``.

    ``data`` is hashed as the JSON value it encodes (canonicalised), not as text, so
    a backend may store it in any equivalent encoding.
    """
    return _content_hash(seq, id, entry_id, origin, facts, json.loads(data), prev_hash)


def _content_hash(
    seq: int, id: int, entry_id: int, origin: str, facts: AuditFacts, entry: Any, prev_hash: str
) -> str:
    """:func:`record_hash` of the parsed entry JSON ``entry``."""
    content = {
        "v": CHAIN_VERSION,
        "seq": seq,
        "id": id,
        "entry_id": entry_id,
        "origin": origin,
        **asdict(facts),
        "data": entry,
        "prev": prev_hash,
    }
    return hashlib.sha256(canonical_json(content)).hexdigest()


def make_record(
    *, seq: int, id: int, entry_id: int, origin: str, data: str, recorded_at: str, prev_hash: str
) -> AuditRecord:
    """The record for the entry JSON ``data``, hashed onto ``prev_hash``."""
    entry = json.loads(data)  # once, for the facts and the hash (a run's outcome is large)
    facts = facts_of(entry, recorded_at)
    digest = _content_hash(seq, id, entry_id, origin, facts, entry, prev_hash)
    return AuditRecord(
        seq=seq,
        id=id,
        entry_id=entry_id,
        origin=origin,
        data=data,
        prev_hash=prev_hash,
        hash=digest,
        **asdict(facts),
    )


def seal_entries(entries: Iterable[tuple[int, str]], recorded_at: str) -> list[AuditRecord]:
    """Chain ``(id, data)`` entries written before chaining existed, oldest first, from
    :data:`GENESIS_HASH`: what a schema migration does once, marking them :data:`MIGRATED`."""
    sealed: list[AuditRecord] = []
    prev = GENESIS_HASH
    for seq, (entry_id, data) in enumerate(entries, start=1):
        record = make_record(
            seq=seq,
            id=entry_id,
            entry_id=entry_id,
            origin=MIGRATED,
            data=data,
            recorded_at=recorded_at,
            prev_hash=prev,
        )
        sealed.append(record)
        prev = record.hash
    return sealed


#: The record's columns, in :class:`AuditRecord` field order.
AUDIT_COLUMNS = tuple(AuditRecord.__dataclass_fields__)


def record_from_row(row: Iterable[Any]) -> AuditRecord:
    """An :class:`AuditRecord` from a row of :data:`AUDIT_COLUMNS`."""
    values = list(row)
    return AuditRecord(
        int(values[0]),
        int(values[1]),
        int(values[2]),
        *(str(v) if v is not None else "" for v in values[3:]),
    )


@dataclass(frozen=True)
class Verdict:
    """The result of :func:`verify_chain`: ``ok``, or the first bad record and why."""

    ok: bool
    records: int
    head: AuditHead
    first_bad_seq: int | None = None
    first_bad_id: int | None = None
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "head": asdict(self.head)}


class ChainVerifier:
    """Checks records fed in ``seq`` order; stops at the first problem."""

    def __init__(self) -> None:
        self.count = 0
        self.last = AuditHead(0, GENESIS_HASH)
        self.problem = ""
        self.bad: AuditRecord | None = None
        self._bad_seq: int | None = None
        self._entries: set[int] = set()

    def feed(self, record: AuditRecord) -> bool:
        """Check the next record; False once a problem is found."""
        if self.problem:
            return False
        expected = self.last.seq + 1
        problem = ""
        if record.seq != expected:
            problem = (
                f"record {expected} is missing (the next is {record.seq}): "
                "a record was deleted or renumbered"
            )
        elif record.prev_hash != self.last.hash:
            problem = (
                "its previous-hash does not match the record before it: a record before it "
                "was deleted, replaced or reordered"
            )
        else:
            problem = self._content_problem(record)
        if problem:
            self.problem, self.bad = problem, record
            self._bad_seq = min(record.seq, expected)
            return False
        if not record.is_outcome:
            self._entries.add(record.id)
        self.count += 1
        self.last = AuditHead(record.seq, record.hash)
        return True

    def _content_problem(self, record: AuditRecord) -> str:
        try:
            digest = record_hash(
                seq=record.seq,
                id=record.id,
                entry_id=record.entry_id,
                origin=record.origin,
                facts=AuditFacts(
                    record.who,
                    record.what,
                    record.recorded_at,
                    record.plan_digest,
                    record.result,
                    record.decision,
                ),
                data=record.data,
                prev_hash=record.prev_hash,
            )
        except ValueError:
            return "its entry is not valid JSON: it was edited"
        if digest != record.hash:
            return "its content does not match its hash: it was edited"
        if record.is_outcome and record.entry_id not in self._entries:
            return f"it settles entry {record.entry_id}, which is not earlier in the chain"
        return ""

    def finish(self, head: AuditHead | None) -> Verdict:
        """The verdict, checking the chain ends at the stored ``head``."""
        if not self.problem and head is None:
            self.problem = "the chain's head is missing: it was deleted"
            self._bad_seq = self.last.seq
        elif not self.problem and head is not None and head != self.last:
            if head.seq > self.last.seq:
                self.problem = (
                    f"the chain ends at record {self.last.seq} but its head says {head.seq}: "
                    "the newest records were deleted"
                )
                self._bad_seq = self.last.seq + 1
            else:
                self.problem = (
                    "the chain's head does not match its last record: the head or the records "
                    "were rewritten"
                )
                self._bad_seq = self.last.seq
        return Verdict(
            ok=not self.problem,
            records=self.count,
            head=self.last,
            first_bad_seq=self._bad_seq,
            first_bad_id=self.bad.id if self.bad is not None else None,
            problem=self.problem,
        )


def verify_chain(records: Iterable[AuditRecord], head: AuditHead | None) -> Verdict:
    """Verify ``records`` (all of an environment's, in ``seq`` order) against ``head``."""
    verifier = ChainVerifier()
    for record in records:
        if not verifier.feed(record):
            break
    return verifier.finish(head)


__all__ = [
    "ALLOWED",
    "APPENDED",
    "AUDIT_COLUMNS",
    "CHAIN_VERSION",
    "GENESIS_HASH",
    "MIGRATED",
    "AuditFacts",
    "AuditHead",
    "AuditRecord",
    "ChainVerifier",
    "Verdict",
    "canonical_json",
    "facts_of",
    "make_record",
    "record_from_row",
    "record_hash",
    "seal_entries",
    "verify_chain",
]
