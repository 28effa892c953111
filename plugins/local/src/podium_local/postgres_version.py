"""local-postgres's ``version`` param: a check against the installed server, not a wish.

podium-local runs the PostgreSQL server that is installed (the configured
``postgres_bin_dir``, else the newest ``/usr/lib/postgresql/*/bin``, else PATH);
it cannot install another one, nor upgrade a cluster in place. A ``version``
param is therefore honoured only when it names the installed server's version;
any other value is refused at validate and plan (with the Score file's line),
never "updated" while the server stays what it was.
"""

from __future__ import annotations

import functools
import re
import subprocess
from typing import ClassVar

from pydantic import field_validator

from podium.plugin import Param, ResourceError
from podium_local.binaries import postgres_binary
from podium_local.provisioners.basic import LocalParams

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)*)")


@functools.lru_cache(maxsize=8)
def installed_version(bin_dir: str | None) -> tuple[str, str]:
    """``(version, pg_ctl path)`` of the server podium-local would start, e.g. ``("15.18", ...)``.

    Cached per configured directory: a plan asks once, not once per resource.
    Raises ResourceError when no server is installed or its version cannot be read.
    """
    pg_ctl = postgres_binary("pg_ctl", bin_dir)
    try:
        shown = subprocess.run(
            [pg_ctl, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ResourceError(f"cannot read the PostgreSQL version from {pg_ctl}: {exc}") from exc
    found = _VERSION.search(shown)
    if found is None:
        raise ResourceError(f"cannot read the PostgreSQL version from {pg_ctl}: {shown.strip()!r}")
    return found.group(1), pg_ctl


def version_problem(wanted: str, bin_dir: str | None) -> str | None:
    """Why ``wanted`` cannot be honoured by the installed server, or None when it can.

    ``wanted`` matches when its parts are the installed version's leading parts:
    with 15.18 installed, ``15`` and ``15.18`` match; ``16`` and ``15.4`` do not.
    """
    try:
        installed, pg_ctl = installed_version(bin_dir)
    except ResourceError as exc:  # fail closed: an unchecked version is not honoured
        hint = f" ({exc.hint})" if exc.hint else ""
        return f"version {wanted!r} cannot be checked: {exc.message}{hint}"
    parts = wanted.strip().split(".")
    if installed.split(".")[: len(parts)] == parts:
        return None
    return (
        f"PostgreSQL {wanted} is not installed: podium-local runs the installed server, "
        f"PostgreSQL {installed} ({pg_ctl}), and cannot change a server's version; "
        f"set version to {installed.split('.')[0]} or leave it out, or install "
        f"PostgreSQL {wanted} and point [plugins.local] postgres_bin_dir at its bin directory"
    )


class PostgresParams(LocalParams):
    """local-postgres's params: only ``version``, checked against the installed server."""

    version: str | None = Param(
        None,
        description="The PostgreSQL version expected (e.g. 15): refused unless it is the "
        "installed server's.",
    )

    #: The ``postgres_bin_dir`` setting the check reads (a subclass per setting).
    bin_dir: ClassVar[str | None] = None

    @field_validator("version")
    @classmethod
    def _installed(cls, value: str | None) -> str | None:
        if value is None:
            return value
        problem = version_problem(value, cls.bin_dir)
        if problem is not None:
            raise ValueError(problem)
        return value


@functools.lru_cache(maxsize=8)
def params_for(bin_dir: str | None) -> type[PostgresParams]:
    """The params model whose ``version`` check reads the server in ``bin_dir``."""
    if bin_dir is None:
        return PostgresParams
    return type("PostgresParams", (PostgresParams,), {"bin_dir": bin_dir, "__module__": __name__})
