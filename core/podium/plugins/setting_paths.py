"""Settings fields typed as paths mean paths next to ``podium.toml``, not the working directory.

A plugin declares ``events_file: Path`` and the platform team writes
``events_file = "logs/events.jsonl"``: the value must name the same file whether
``podium`` runs from the config's directory, a subdirectory or CI's checkout
root. So, for every field whose type is a path (``pathlib`` paths, also inside
``Optional``, a union with ``None``, or a list, tuple, set or sequence of them, and
in nested models), a relative value is joined to the platform's root and ``~`` is
expanded. Inputs are rewritten before validation, so pydantic's ``FilePath`` and
``DirectoryPath`` check the file that is meant; defaults are rewritten after it.
Fields of any other type (``str`` included) are left exactly as written.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

Shape = Literal["one", "many"]
ModelT = TypeVar("ModelT", bound=BaseModel)

_COLLECTIONS: tuple[object, ...] = (list, tuple, set, frozenset, Sequence, Collection, Iterable)


def path_shape(annotation: object) -> Shape | None:
    """``"one"`` for a path type, ``"many"`` for a collection of them, else ``None``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return path_shape(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "one"
    args = [a for a in typing.get_args(annotation) if a is not type(None) and a is not Ellipsis]
    if origin in (typing.Union, types.UnionType):
        shapes = {path_shape(a) for a in args}
        return shapes.pop() if len(shapes) == 1 else None
    if origin in _COLLECTIONS and args and all(path_shape(a) == "one" for a in args):
        return "many"
    return None


def _nested_model(annotation: object) -> type[BaseModel] | None:
    """The model class of a field holding one nested model (also ``Optional``)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _nested_model(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if origin in (typing.Union, types.UnionType):
        models = [_nested_model(a) for a in typing.get_args(annotation) if a is not type(None)]
        return models[0] if len(models) == 1 else None
    return None


def _absolute(value: object, base: Path) -> object:
    if not isinstance(value, str | PurePath):
        return value  # not a path yet: pydantic reports it as it would anyway
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base / path
    if isinstance(value, str):
        return str(path)
    return type(value)(path) if isinstance(value, Path) else path


def _rewrite(shape: Shape, value: object, base: Path) -> object:
    if shape == "one":
        return _absolute(value, base)
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(_absolute(item, base) for item in value)
    return value


def resolve_inputs(model: type[BaseModel], values: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """``values`` (keyed by field name or alias) with relative path inputs made absolute."""
    result = dict(values)
    for name, field in model.model_fields.items():
        key = name if name in result else field.alias
        if key is None or key not in result:
            continue
        shape = path_shape(field.annotation)
        nested = _nested_model(field.annotation)
        if shape is not None:
            result[key] = _rewrite(shape, result[key], base)
        elif nested is not None and isinstance(result[key], Mapping):
            result[key] = resolve_inputs(nested, result[key], base)
    return result


def resolve_defaults(instance: ModelT, base: Path) -> ModelT:
    """``instance`` with relative paths its defaults left made absolute (inputs already are)."""
    update: dict[str, Any] = {}
    for name, field in type(instance).model_fields.items():
        value = getattr(instance, name)
        shape = path_shape(field.annotation)
        if shape is not None:
            rewritten = _rewrite(shape, value, base)
            if rewritten != value:
                update[name] = rewritten
        elif isinstance(value, BaseModel):
            nested = resolve_defaults(value, base)
            if nested is not value:
                update[name] = nested
    return instance.model_copy(update=update) if update else instance
