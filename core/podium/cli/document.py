"""Under ``--json``, stdout carries the command's JSON document and nothing else.

Plugins run in-process and may print -- from Python, from C code or from a
child process they start -- and any such line on stdout would break the
document a script parses. So, for the whole run, the CLI keeps a private copy
of the real stdout for the document and points both file descriptor 1 and
``sys.stdout`` at stderr: every other write ends up on stderr, whoever makes
it. This is the CLI's business, done by the process that owns the terminal;
the library (``Platform`` and the engine) never touches ``sys.stdout``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


@contextmanager
def stdout_reserved_for_document() -> Iterator[TextIO]:
    """Yield the stream the JSON document goes to; everything else goes to stderr."""
    original = sys.stdout
    stdout_fd = _fileno(original)
    stderr_fd = _fileno(sys.stderr)
    original.flush()
    #: (the real stdout's fd, a copy of it to restore it from) while fd 1 points at stderr
    restore: tuple[int, int] | None = None
    if stdout_fd is None or stderr_fd is None:
        # No real descriptors (an embedding host, a test runner capturing in
        # memory): only Python-level writes can be redirected.
        document: TextIO = original
    else:
        restore = (stdout_fd, os.dup(stdout_fd))
        document = os.fdopen(
            os.dup(stdout_fd), "w", encoding=original.encoding or "utf-8", errors="replace"
        )
        os.dup2(stderr_fd, stdout_fd)
    sys.stdout = sys.stderr
    try:
        yield document
    finally:
        sys.stdout = original
        document.flush()
        if restore is not None:
            original.flush()  # anything in its buffer was written while fd 1 was stderr
            os.dup2(restore[1], restore[0])
            os.close(restore[1])
            document.close()


def _fileno(stream: TextIO | None) -> int | None:
    try:
        return stream.fileno() if stream is not None else None
    except (AttributeError, OSError, ValueError):
        return None
