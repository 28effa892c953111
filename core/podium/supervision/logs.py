"""Log files read the way ``podium logs`` asks: per container, the last lines, and following.

A process deployer that captures each container's stdout and stderr in files
(supervisord, a plain ``Popen`` with redirected output) answers
:meth:`Deployer.logs <podium.deployment.contract.Deployer.logs>` with
:func:`read_logs` over its :class:`LogSource` list.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium.deployment.contract import LogLine

#: How much of a file's end is read at a time while looking for its last lines.
_BLOCK = 64 * 1024


@dataclass(frozen=True)
class LogSource:
    """One log file: the container and stream (``stdout``/``stderr``) it holds."""

    container: str
    path: Path
    stream: str = "stdout"


def read_lines(path: Path) -> list[str]:
    """Every line of ``path`` (undecodable bytes replaced); none when it does not exist."""
    try:
        return path.read_bytes().decode(errors="replace").splitlines()
    except FileNotFoundError:
        return []


def tail_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines of ``path``, reading only the file's end."""
    lines, _, _ = _last_lines(path, count)
    return lines


def _last_lines(path: Path, count: int | None) -> tuple[list[str], int, bool]:
    """The last ``count`` lines (all when ``None``), the offset just after the last
    complete line (where following goes on), and whether the last line is partial
    (no newline yet: it is included in the lines, and a follower reads it again whole)."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return [], 0, False
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if count is not None and count <= 0:
            return [], size, False
        start = size
        data = b""
        while start > 0 and (count is None or data.count(b"\n") <= count):
            step = min(_BLOCK, start) if count is not None else start
            start -= step
            handle.seek(start)
            data = handle.read(step) + data
    complete_end = data.rfind(b"\n") + 1  # 0 when there is no newline at all
    following_offset = start + complete_end
    lines = data.decode(errors="replace").splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # the first line read may be cut at the block boundary
    if count is not None:
        lines = lines[-count:] if count else []
    return lines, following_offset, bool(data) and not data.endswith(b"\n")


def read_logs(
    sources: Sequence[LogSource],
    *,
    tail: int | None = None,
    follow: bool = False,
    poll_interval: float = 0.2,
    stop: Callable[[], bool] | None = None,
    mask: Callable[[str], str] | None = None,
) -> Iterator[LogLine]:
    """Yield the lines of ``sources`` in order (each file's last ``tail`` lines, or all).

    With ``follow``, then keep yielding lines as they are appended, stamped with the
    time they were read, until the caller stops iterating or ``stop()`` returns true
    (pass ``lambda: ctx.cancelled``). A file that shrinks (rotated, truncated) is read
    again from its start; a partial last line waits for its newline. ``mask`` rewrites
    each line before it is yielded (to hide the workload's secrets).
    """
    from podium.deployment.contract import LogLine

    def shown(text: str) -> str:
        return mask(text) if mask is not None else text

    offsets: dict[Path, int] = {}
    for source in sources:
        lines, offset, partial = _last_lines(source.path, tail)
        if follow and partial and lines:
            lines = lines[:-1]  # the partial last line comes whole while following
        for text in lines:
            yield LogLine(container=source.container, text=shown(text), stream=source.stream)
        offsets[source.path] = offset
    while follow and not (stop is not None and stop()):
        quiet = True
        for source in sources:
            start = offsets[source.path]
            size = _size(source.path)
            if size < start:
                start = 0  # rotated or truncated: start over
            if size <= start:
                offsets[source.path] = start
                continue
            with source.path.open("rb") as handle:
                handle.seek(start)
                chunk = handle.read(size - start)
            complete = chunk[: chunk.rfind(b"\n") + 1]
            offsets[source.path] = start + len(complete)
            if not complete:
                continue
            # A line seen while following was written since the last poll: the time it
            # was read is true to within the poll interval.
            seen = datetime.now(UTC)
            for text in complete.decode(errors="replace").splitlines():
                quiet = False
                yield LogLine(
                    container=source.container,
                    text=shown(text),
                    stream=source.stream,
                    timestamp=seen,
                )
        if quiet:
            time.sleep(poll_interval)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
