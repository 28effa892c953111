"""Telemetry sinks and state stores the kits are run against; some break their contract on purpose."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from podium.observability.contract import Event, TelemetrySink
from podium.platform.context import EnvironmentInfo
from podium.platform.contract import Intent, IntentOutcome
from podium.state.sqlite import SqliteStateBackend, SqliteStateStore

log = logging.getLogger(__name__)


class BufferedFileSink(TelemetrySink):
    """Buffers events and writes them as JSON lines to ``path`` on close (or every 100)."""

    name: ClassVar[str] = "sample-buffered"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.buffer: list[str] = []

    def emit(self, event: Event) -> None:
        try:
            self.buffer.append(json.dumps(event.to_dict(), default=repr))
            if len(self.buffer) >= 100:
                self.flush()
        except (OSError, ValueError) as exc:
            log.warning("sample sink dropped an event: %s", exc)

    def flush(self) -> None:
        lines, self.buffer = self.buffer, []
        if lines:
            with self.path.open("a", encoding="utf-8") as out:
                out.write("".join(line + "\n" for line in lines))

    def close(self) -> None:
        try:
            self.flush()
        except OSError as exc:
            log.warning("sample sink dropped events: %s", exc)


def delivered_lines(sink: BufferedFileSink) -> list[str]:
    return sink.path.read_text().splitlines() if sink.path.exists() else []


class StrictJsonSink(BufferedFileSink):
    """Seeded bug: serialises without a fallback, so unusual event data raises from emit."""

    def emit(self, event: Event) -> None:
        self.buffer.append(json.dumps(event.to_dict()))


class ForgetfulSink(BufferedFileSink):
    """Seeded bug: close drops the buffer instead of writing it."""

    def close(self) -> None:
        self.buffer = []


class _StoreBackend(SqliteStateBackend):
    store: ClassVar[type[SqliteStateStore]]

    def open(self, env: EnvironmentInfo, options: dict[str, Any]) -> SqliteStateStore:
        return self.store(Path(env.state_dir) / "state.db", where=f"sample {env.environment}")


class _PiecemealStore(SqliteStateStore):
    def journal(self, outcomes: Sequence[IntentOutcome], intents: Sequence[Intent]) -> list[int]:
        # Seeded bug: one transaction per outcome and per intent, so a failure halfway
        # leaves the first half of the batch written.
        journal_one = super().journal
        for outcome in outcomes:
            journal_one([outcome], [])
        return [journal_one([], [intent])[0] for intent in intents]


class NonAtomicJournalBackend(_StoreBackend):
    name: ClassVar[str] = "sample-non-atomic"
    store = _PiecemealStore


class _LossyStore(SqliteStateStore):
    def journal(self, outcomes: Sequence[IntentOutcome], intents: Sequence[Intent]) -> list[int]:
        # Seeded bug: the last intent of a batch is never written, yet gets an id.
        ids = super().journal(outcomes, intents[:-1])
        return [*ids, ids[-1] + 1] if len(intents) > 1 else ids


class LostIntentJournalBackend(_StoreBackend):
    name: ClassVar[str] = "sample-lost-intent"
    store = _LossyStore


class _UnfencedStore(SqliteStateStore):
    def fenced(self, epoch: int) -> SqliteStateStore:
        # Seeded bug: the writes of a lease that was taken over are still accepted.
        return self


class UnfencedBackend(_StoreBackend):
    name: ClassVar[str] = "sample-unfenced"
    store = _UnfencedStore
