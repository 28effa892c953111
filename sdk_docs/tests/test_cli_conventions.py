"""The CLI's shared rules are documented where a reader looks: the CLI reference, the
exit-code page, the README's exit-code table and the developer guide (issue 13)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from docsite import page_text

ROOT = Path(__file__).resolve().parents[2]


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_the_cli_reference_states_the_conventions(site: Path) -> None:
    text = _text(page_text(site, "reference/cli"))
    for needle in ("before or after the subcommand", "Confirmation", "Exit 130", "NO_COLOR"):
        assert needle in text, needle
    assert "answered no" in _text(page_text(site, "reference/exit-codes"))


def test_the_readme_exit_code_table_has_130() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Exit codes") :]
    assert re.search(r"^\| 130 \| interrupted \(Ctrl-C", table, re.MULTILINE)


def test_the_developer_guide_states_the_port_contract_and_where_placeholders_expand() -> None:
    guide = (ROOT / "sdk_docs/docs/guides/developer.md").read_text()
    assert 'PORT: "8080"' not in guide  # the example that failed on podium-local
    assert "listen where the deployer tells you" in guide.lower()
    assert "does **not** expand them in `command` or `args`" in guide
