"""Where a key is in a TOML file, since tomllib reports no positions for valid documents.

The scanner reads text tomllib has already accepted, so it can be lenient: it
follows table headers (``[a.b]``), arrays of tables (``[[rules]]``, counted),
dotted and quoted keys, inline tables and arrays (counting elements), and skips
strings and comments. It records the line and column where each key path starts.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from podium.errors import Location

KeyPath = tuple[str | int, ...]

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class Locator:
    """Maps a key path like ``("rules", 1, "provisioner")`` to its Location in the file.

    Call it: ``locate(path) -> Location | None``. A path that is not in the file (a
    missing key, say) gets the position of its nearest enclosing table or key.
    ``path`` is the config file (None for a dict), ``source`` how errors name it.
    """

    def __init__(self, source: str, text: str | None = None, path: Path | None = None) -> None:
        self.source = source
        self.path = path
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        if text:
            # Positions are a courtesy: a scanner gap must never hide the real error.
            with contextlib.suppress(IndexError, ValueError):
                _Scanner(text, self.positions).document()

    @property
    def base_dir(self) -> Path:
        """The config file's directory, against which relative paths in it are resolved."""
        return self.path.parent if self.path is not None else Path.cwd()

    def __call__(self, key_path: tuple[str | int, ...]) -> Location | None:
        parts = tuple(key_path)
        while parts:
            position = self.positions.get(parts)
            if position is not None:
                return Location(self.source, *position)
            parts = parts[:-1]
        return Location(self.source)


class _Scanner:
    def __init__(self, text: str, positions: dict[KeyPath, tuple[int, int]]) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0
        self.positions = positions
        self.array_counts: dict[KeyPath, int] = {}

    # -- low level -------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.pos >= len(self.text):
                return
            if self.text[self.pos] == "\n":
                self.line += 1
                self.line_start = self.pos + 1
            self.pos += 1

    def here(self) -> tuple[int, int]:
        return self.line, self.pos - self.line_start + 1

    def record(self, path: KeyPath, at: tuple[int, int]) -> None:
        for length in range(1, len(path) + 1):
            self.positions.setdefault(path[:length], at)

    def skip_space(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.peek()
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                while self.pos < len(self.text) and self.peek() != "\n":
                    self.advance()
            else:
                return

    # -- grammar ---------------------------------------------------------------------------
    def document(self) -> None:
        table: KeyPath = ()
        while True:
            self.skip_space(newlines=True)
            if self.pos >= len(self.text):
                return
            at = self.here()
            if self.text.startswith("[[", self.pos):
                self.advance(2)
                name = self.key()
                index = self.array_counts.get(name, -1) + 1
                self.array_counts[name] = index
                table = (*name, index)
                self.record(table, at)
                self.skip_line()
            elif self.peek() == "[":
                self.advance()
                table = self.key()
                self.record(table, at)
                self.skip_line()
            else:
                self.keyval(table)

    def skip_line(self) -> None:
        while self.pos < len(self.text) and self.peek() != "\n":
            self.advance()

    def key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self.skip_space(newlines=False)
            char = self.peek()
            if char in ('"', "'"):
                parts.append(self.string_value())
            else:
                start = self.pos
                while self.peek() in _BARE and self.peek():
                    self.advance()
                if self.pos == start:
                    raise ValueError("expected a key")
                parts.append(self.text[start : self.pos])
            self.skip_space(newlines=False)
            if self.peek() == ".":
                self.advance()
                continue
            return tuple(parts)

    def keyval(self, table: KeyPath) -> None:
        at = self.here()
        path = (*table, *self.key())
        self.record(path, at)
        self.skip_space(newlines=False)
        if self.peek() != "=":
            raise ValueError("expected '='")
        self.advance()
        self.skip_space(newlines=False)
        self.value(path)

    def value(self, path: KeyPath) -> None:
        char = self.peek()
        if char in ('"', "'"):
            self.string_value()
        elif char == "[":
            self.advance()
            index = 0
            while True:
                self.skip_space(newlines=True)
                if self.peek() == "]":
                    self.advance()
                    return
                self.record((*path, index), self.here())
                self.value((*path, index))
                index += 1
                self.skip_space(newlines=True)
                if self.peek() == ",":
                    self.advance()
        elif char == "{":
            self.advance()
            while True:
                self.skip_space(newlines=False)
                if self.peek() == "}":
                    self.advance()
                    return
                self.keyval(path)
                self.skip_space(newlines=False)
                if self.peek() == ",":
                    self.advance()
        else:
            while self.peek() and self.peek() not in ",]}\n#":
                self.advance()

    def string_value(self) -> str:
        quote = self.peek()
        if self.text.startswith(quote * 3, self.pos):
            self.advance(3)
            start = self.pos
            while self.pos < len(self.text):
                if quote == '"' and self.peek() == "\\":
                    self.advance(2)
                    continue
                if self.text.startswith(quote * 3, self.pos):
                    # Up to two quotes may end the content right before the closing three.
                    while self.text.startswith(quote * 4, self.pos):
                        self.advance()
                    body = self.text[start : self.pos]
                    self.advance(3)
                    return body
                self.advance()
            raise ValueError("unterminated string")
        self.advance()
        chars: list[str] = []
        while self.pos < len(self.text) and self.peek() != quote:
            if quote == '"' and self.peek() == "\\":
                chars.append(self.text[self.pos : self.pos + 2])
                self.advance(2)
                continue
            chars.append(self.peek())
            self.advance()
        self.advance()
        raw = "".join(chars)
        return _unescape(raw) if quote == '"' else raw


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    try:
        return raw.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError:
        return raw


__all__ = ["KeyPath", "Locator"]
