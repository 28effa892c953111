"""Lazy re-exports for facade modules (:mod:`podium.plugin`, :mod:`podium.testing`).

A facade lists many names from modules that pull in pydantic, cryptography or
the engine. Importing them all up front would make ``import podium.plugin`` as
heavy as the heaviest contract; instead a module-level ``__getattr__`` (PEP 562)
imports a name's home module the first time the name is read, and caches the
value in the facade so later reads are plain attribute lookups.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping


def lazy_exports(
    facade: str, homes: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for module ``facade`` re-exporting ``homes``.

    ``homes`` maps a home module to the names the facade takes from it.
    """
    home_of = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> object:
        module = home_of.get(name)
        if module is None:
            raise AttributeError(f"module {facade!r} has no attribute {name!r}")
        value: object = getattr(importlib.import_module(module), name)
        setattr(sys.modules[facade], name, value)  # later reads skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[facade]), *home_of})

    return __getattr__, __dir__
