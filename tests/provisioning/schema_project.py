"""A platform directory whose plugins are installed for real, driven through the ``podium`` CLI.

The helpers are the security tests' (tests/security/cli_project.py); the sample plugins
are in this directory: ``objstore_plugin`` declares a resource schema, ``legacy_plugin``
only the 0.1 attributes.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "security"))

from cli_project import CliProject, install_plugin  # noqa: E402  (found through the path above)

CONFIG = """\
[platform]
name = "schemas"

[plugins]
allow = ["objstore", "legacy"]

[environments.dev]

[[rules]]
type = "objstore"
provisioner = "objstore"

[[rules]]
type = "queue"
provisioner = "legacy-queue"

[[rules]]
type = "opaque"
provisioner = "legacy-opaque"
"""


class SchemaProject(CliProject):
    """A platform with the two sample plugins installed on its own site directory."""

    def __init__(self, root: Path, config: str = CONFIG) -> None:
        super().__init__(root, root / "site")
        for plugin, module in (("objstore", "objstore_plugin"), ("legacy", "legacy_plugin")):
            source = (HERE / f"{module}.py").read_text()
            install_plugin(self.site, plugin, source, module=module)
        self.write("podium.toml", config)
