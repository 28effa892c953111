"""MkDocs hook: add the generated reference pages to the site.

The CLI, config, exit-code and plugin pages are built from the code on every
``mkdocs build``, never checked in, so they cannot drift from what is installed.
Plugin pages are discovered from ``plugins/*/pyproject.toml`` and added to the nav.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference  # a sibling module, found through the path set above

PLUGINS_SECTION = "Plugins"


def generated_pages() -> dict[str, str]:
    """Site path -> Markdown of every generated page."""
    packages = reference.plugin_packages()
    pages = {
        "reference/cli.md": reference.cli_markdown(),
        "reference/config.md": reference.config_markdown(),
        "reference/exit-codes.md": reference.exit_codes_markdown(),
        "plugins/index.md": reference.plugins_index_markdown(packages),
    }
    for package in packages:
        pages[f"plugins/{package.slug}.md"] = reference.plugin_markdown(package)
    return pages


def on_config(config: Any) -> Any:
    """Fill the Plugins section of the nav with one page per plugin found."""
    entries: list[Any] = ["plugins/index.md"]
    entries += [
        {package.distribution: f"plugins/{package.slug}.md"}
        for package in reference.plugin_packages()
    ]
    for item in config["nav"] or []:
        if isinstance(item, dict) and PLUGINS_SECTION in item:
            item[PLUGINS_SECTION] = entries
    return config


def on_files(files: Files, config: Any) -> Files:
    for src_uri, content in generated_pages().items():
        existing = files.get_file_from_path(src_uri)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, src_uri, content=content))
    return files
