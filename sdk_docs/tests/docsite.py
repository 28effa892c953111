"""Reading the built site in tests."""

from __future__ import annotations

from pathlib import Path


def page_text(site: Path, page: str) -> str:
    """The HTML of a built page (``reference/cli`` -> reference/cli/index.html)."""
    return (site / page / "index.html").read_text(encoding="utf-8")
