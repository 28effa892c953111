"""Reading a container's ``k8s-file`` log: whole lines, their stream and time.

Podman's API returns a line written in pieces (``print`` under ``python -u`` writes
the text, then the newline) as two lines, the second one empty; its log file keeps
the truth: ``<time> <stream> <P|F> <text>``, ``P`` for a piece, ``F`` for the piece
that ends a line. So logs are read from the file Podman names in ``inspect``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass
class LogEntry:
    timestamp: datetime | None
    stream: str
    text: str


@dataclass
class LogFileReader:
    """Assembles whole lines from a log file, remembering where it stopped."""

    path: Path
    offset: int = 0
    _pieces: dict[str, list[str]] = field(default_factory=dict)
    _rest: bytes = b""

    def read(self) -> list[LogEntry]:
        """The lines completed since the last call."""
        try:
            with open(self.path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size < self.offset:
                    self.offset, self._rest = 0, b""  # rotated or recreated: start over
                handle.seek(self.offset)
                data = handle.read()
                self.offset = handle.tell()
        except FileNotFoundError:
            return []
        data = self._rest + data
        *complete, self._rest = data.split(b"\n")
        entries = []
        for raw in complete:
            parts = raw.decode(errors="replace").split(" ", 3)
            if len(parts) < 3:
                continue
            stamp, stream, flag = parts[:3]
            text = parts[3] if len(parts) > 3 else ""
            pieces = self._pieces.setdefault(stream, [])
            pieces.append(text)
            if flag == "P":
                continue
            entries.append(LogEntry(parse_time(stamp), stream, "".join(pieces)))
            pieces.clear()
        return entries


def read_entries(path: Path, tail: int | None) -> list[LogEntry]:
    """Every whole line (the last ``tail`` of each stream when given)."""
    entries = LogFileReader(path).read()
    if tail is None:
        return entries
    kept: list[LogEntry] = []
    for stream in ("stdout", "stderr"):
        mine = [e for e in entries if e.stream == stream]
        kept += mine[-tail:] if tail > 0 else []
    return sorted(kept, key=lambda e: e.timestamp or datetime.min.astimezone())


def follow_entries(
    paths: dict[str, Path],
    tail: int | None,
    stop: Callable[[], bool],
    wait: Callable[[float], object],
) -> Iterator[tuple[str, LogEntry]]:
    """(container, line) for the last ``tail`` lines, then for each new one until ``stop()``."""
    readers = {}
    for name, path in paths.items():
        for entry in read_entries(path, tail):
            yield name, entry
        reader = LogFileReader(path)
        reader.read()  # position at the end: what came before was shown (or cut by tail)
        readers[name] = reader
    while not stop():
        fresh = [(name, e) for name, reader in readers.items() for e in reader.read()]
        yield from fresh
        if not fresh:
            wait(0.2)


def parse_time(stamp: str) -> datetime | None:
    """An RFC 3339 time as Podman writes it (nanoseconds: datetime keeps microseconds)."""
    head, dot, rest = stamp.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        stamp = f"{head}.{digits[:6]}{zone}"
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
