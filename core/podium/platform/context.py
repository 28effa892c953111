"""What the core tells a plugin about where it is running."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*$")


def validate_name(name: object, what: str) -> str:
    """Check a registration name: lowercase words joined by ``-``, ``_`` or ``.``, at most 63."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or len(name) > 63:
        raise ValueError(
            f"{what} name {name!r} is invalid: use lowercase letters and digits, "
            "words joined by '-', '_' or '.', at most 63 characters"
        )
    return name


@dataclass(frozen=True)
class PlatformInfo:
    """Where a platform lives: what a registration hook may accept as ``platform``.

    ``root`` is the directory of ``podium.toml`` (or the root an embedder gave
    :class:`~podium.Platform`): relative paths in the config mean paths under it,
    and settings fields typed as paths are already resolved against it.
    ``state_root`` is the platform's state directory (``[platform] state_dir``,
    made absolute), with one subdirectory per environment. ``config_path`` is the
    config file, or ``None`` for a platform built from a dict.
    """

    name: str
    root: Path
    state_root: Path
    config_path: Path | None = None

    def resolve(self, path: str | Path) -> Path:
        """``path`` as the config means it: ``~`` expanded, relative to :attr:`root`."""
        given = Path(path).expanduser()
        return given if given.is_absolute() else self.root / given

    @classmethod
    def here(cls, name: str) -> PlatformInfo:
        """A platform with no config file, rooted in the working directory (tests, embedding)."""
        root = Path.cwd().resolve()
        return cls(name=name, root=root, state_root=root / ".podium")


@dataclass(frozen=True)
class EnvironmentInfo:
    """The platform and environment an operation runs in.

    ``state_dir`` is a directory private to this platform and environment where a
    plugin may keep files (the local plugin keeps its database clusters there).
    ``settings`` are the environment's free-form options from ``podium.toml``.
    ``secret_store`` is the platform's secret store, so a ``secret`` provisioner
    resolves keys set with ``podium secrets set`` wherever the platform keeps them.
    """

    platform: str
    environment: str
    state_dir: Path
    settings: dict[str, Any] = field(default_factory=dict)
    tier: str = "dev"  #: ``dev``, ``staging`` or ``prod``
    #: Deleting data needs consent here (``protect_data``, by default the prod tier): a
    #: provisioner may guard its data stores further (podium-aws sets RDS deletion protection)
    protect_data: bool = False
    #: The platform's selected :class:`~podium.security.SecretStore` (``[secrets] store``),
    #: for provisioners that hand out secrets; ``None`` when no store is registered.
    secret_store: Any = field(default=None, compare=False, repr=False)
    #: The platform's ``podium.toml`` (``None`` for a platform built from a dict): a
    #: background process a plugin starts can open the same platform with
    #: :meth:`Platform.from_file <podium.Platform.from_file>` (podium-prometheus' readiness
    #: exporter asks ``Platform.status`` this way).
    config_path: Path | None = field(default=None, compare=False)

    def physical_name(self, uid: str, *, max_length: int = 63, separator: str = "-") -> str:
        """A deterministic, collision-resistant name for a real resource.

        The same platform, environment and uid always give the same name, so a
        provisioner that crashed after creating something finds it again by name.
        The result uses lowercase letters, digits and ``separator`` only.
        """
        digest = hashlib.sha256(f"{self.platform}/{self.environment}/{uid}".encode()).hexdigest()
        slug = re.sub(r"[^a-z0-9]+", separator, f"{self.platform}-{self.environment}-{uid}".lower())
        slug = slug.strip(separator)
        room = max_length - 9
        return f"{slug[:room].rstrip(separator)}{separator}{digest[:8]}"
