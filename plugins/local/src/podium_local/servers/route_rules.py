"""What a route may say, and who may say it.

A route's host and path are written into the nginx configuration that serves
every workload of the environment, so they are checked against strict grammars
instead of being escaped: a host is an RFC 1123 host name, a path a prefix made
of URL characters that mean nothing to nginx's parser (no whitespace, control
characters, ``#``, ``;``, braces, quotes, backslashes or ``$``).

A host belongs to the workload that routed it first: another workload's route
for that host is refused until the first one's routes are gone, so nobody can
put their app behind someone else's ``host/admin``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from podium.plugin import ResourceError

MAX_HOST = 253
MAX_PATH = 1024
# One RFC 1123 label: letters, digits and '-', not starting or ending with '-'.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.IGNORECASE)
# Unreserved URL characters, '%' escapes and the sub-delimiters nginx reads literally.
_PATH = re.compile(r"/[A-Za-z0-9._~%/+:@=,!*-]*")
_WORKLOAD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,126}")


def check_host(value: object, where: str) -> str:
    """The host in lowercase, or a ResourceError naming ``where``."""
    text = str(value)
    if len(text) > MAX_HOST or not _HOST.fullmatch(text):
        raise ResourceError(
            f"{where}: {value!r} is not a host name",
            hint="use DNS labels of letters, digits and '-' joined by '.' (e.g. shop.localhost)",
        )
    return text.lower()


def check_path(value: object, where: str) -> str:
    text = str(value)
    if len(text) > MAX_PATH or not _PATH.fullmatch(text):
        raise ResourceError(
            f"{where}: {value!r} is not a route path",
            hint="start with '/' and use letters, digits and . _ ~ % / + : @ = , ! * - only "
            "(no spaces, control characters, '#', ';', '$', braces or quotes)",
        )
    return text


def check_workload(value: object, where: str) -> str:
    text = str(value)
    if not _WORKLOAD.fullmatch(text):
        raise ResourceError(f"{where}: {value!r} is not a workload name")
    return text


def is_valid(route: Mapping[str, Any]) -> bool:
    """Whether a stored route is safe to render (routes.json may predate these checks)."""
    try:
        check_host(route["host"], "route")
        check_path(route["path"], "route")
        check_workload(route["workload"], "route")
    except (KeyError, ResourceError):
        return False
    return True


def owner_of(route: Mapping[str, Any]) -> str:
    """Who claimed a stored route; routes saved before claims were recorded: its workload."""
    return str(route.get("owner") or route.get("workload"))


def check_claim(
    routes: Mapping[str, Mapping[str, Any]], uid: str, route: Mapping[str, Any]
) -> None:
    """Refuse ``route`` when its host is another workload's or its host+path is taken."""
    for other_uid, other in routes.items():
        if other_uid == uid or other.get("host") != route["host"]:
            continue
        if owner_of(other) != route["owner"]:
            raise ResourceError(
                f"{uid}: host {route['host']} is routed by workload {owner_of(other)!r} "
                f"({other_uid}); workload {route['owner']!r} cannot add routes to it",
                hint="a host belongs to the workload that routed it first: use a host of your own",
            )
        if other.get("path") == route["path"]:
            raise ResourceError(
                f"{uid}: {route['host']}{route['path']} is already routed by {other_uid}",
                hint="give each route of a host its own path",
            )
