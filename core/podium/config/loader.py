"""Loading ``podium.toml`` (or an equivalent dict) with errors that name file, line and key.

Field paths in errors are dotted, list indexes included: ``rules.2.provisioner``
(the same form plugin settings errors use).
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from podium.config.locate import Locator
from podium.errors import ConfigError, InputError, InputErrors, Location

if TYPE_CHECKING:
    from pydantic import ValidationError

    from podium.config.models import PlatformConfig

#: A platform config larger than this is certainly a mistake.
MAX_CONFIG_BYTES = 1024 * 1024
#: Deepest nesting of tables and arrays. Real configs nest a handful of levels; tomllib,
#: pydantic and JSON all recurse per level, and a deep file otherwise ends in RecursionError.
MAX_CONFIG_DEPTH = 32

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_FOUND = re.compile(r" \(found .*\)$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


class ConfigErrors(InputErrors, ConfigError):
    """Several problems in one config; ``errors`` lists each ConfigError."""


def load_config_file(path: Path | str) -> tuple[PlatformConfig, Locator]:
    """Read and validate ``podium.toml``.

    Returns the config and a Locator (``locator.path`` is the file; resolve a relative
    ``platform.state_dir`` against ``locator.base_dir``).
    """

    shown = str(path)
    file = Path(path)
    try:
        if file.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(
                f"file is larger than {MAX_CONFIG_BYTES} bytes; refused", location=Location(shown)
            )
        text = file.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(
            "no such file", location=Location(shown), hint="create one with 'podium init'"
        ) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", location=Location(shown)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"is not UTF-8 text (bad byte at offset {exc.start})", location=Location(shown)
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", location=Location(shown)) from None
    data = _parse_toml(text, shown)
    locator = Locator(shown, text, file.resolve())
    return _validate(data, locator), locator


def load_config_text(text: str, source: str = "<string>") -> tuple[PlatformConfig, Locator]:
    """Validate TOML ``text``; ``source`` names it in errors."""
    data = _parse_toml(text, source)
    locator = Locator(source, text)
    return _validate(data, locator), locator


def load_config_dict(data: Mapping[str, Any], source: str = "<dict>") -> PlatformConfig:
    """Validate a config given as a dict (embedding, tests); errors name ``source`` and the key.

    A dict has no lines, so unlike :func:`load_config_file` this returns only the config.
    """
    return _validate(dict(data), Locator(source))


def platform_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``podium.toml`` (``podium schema platform``)."""
    from podium.config.models import PlatformConfig

    return PlatformConfig.model_json_schema(by_alias=True)


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    """tomllib, with every failure a located ConfigError (never a RecursionError)."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, source, text) from None
    except RecursionError:
        raise _too_deep(text, source) from None
    except ValueError as exc:  # an integer of more than 4300 digits, say
        huge = _HUGE_NUMBER.search(text)
        line, column = _line_column(text, huge.start()) if huge else (None, None)
        raise ConfigError(
            f"invalid TOML: {str(exc).split(':')[0]}", location=Location(source, line, column)
        ) from None
    if _depth(data) > MAX_CONFIG_DEPTH:
        raise _too_deep(text, source)
    return data


_HUGE_NUMBER = re.compile(r"[0-9_]{4000,}")


def _depth(value: Any) -> int:
    """How deeply tables and arrays nest in ``value``; iterative, so never too deep itself."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_CONFIG_DEPTH:
            break
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep(text: str, source: str) -> ConfigError:
    """The error for over-deep nesting, at the bracket where the limit is crossed."""
    line, column = _line_column(text, _deep_offset(text))
    return ConfigError(
        f"tables and arrays nest more than {MAX_CONFIG_DEPTH} levels deep; refused",
        location=Location(source, line, column),
    )


def _deep_offset(text: str) -> int:
    """Offset of the first '[' or '{' past the depth limit, strings and comments skipped.

    Lenient on purpose: it only places the error, the document is refused anyway.
    """
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char in "\"'":
            quote = text[index : index + 3] if text[index : index + 3] in ('"""', "'''") else char
            end = text.find(quote, index + len(quote))
            while quote == '"' and end > 0 and text[end - 1] == "\\":
                end = text.find(quote, end + 1)
            index = len(text) if end < 0 else end + len(quote)
            continue
        if char == "#":
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        if char in "[{":
            depth += 1
            if depth > MAX_CONFIG_DEPTH:
                return index
        elif char in "]}":
            depth = max(0, depth - 1)
        index += 1
    # Not brackets, then dotted keys ([a.b.c...] or a.b.c = 1): the first line with too many.
    offset = 0
    for line in text.splitlines(keepends=True):
        if line.split("#")[0].count(".") > MAX_CONFIG_DEPTH:
            return offset
        offset += len(line)
    return 0


def _line_column(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _toml_error(exc: Exception, source: str, text: str) -> ConfigError:
    message = str(exc)
    found = _TOML_POSITION.search(message)
    line: int | None = None
    column: int | None = None
    if found:
        line, column = int(found.group(1)), int(found.group(2))
        message = message[: found.start()]
    elif _TOML_END.search(message):
        message = _TOML_END.sub("", message) + " (at end of file)"
        line = text.count("\n") + 1
    return ConfigError(f"invalid TOML: {message}", location=Location(source, line, column))


def _validate(data: dict[str, Any], locator: Locator) -> PlatformConfig:
    from pydantic import ValidationError

    from podium.config.models import PlatformConfig

    try:
        config = PlatformConfig.model_validate(data)
    except ValidationError as exc:
        errors = _config_errors(exc, data, locator)
    else:
        errors = _rule_environment_errors(config, locator)
        if not errors:
            return config
    if len(errors) == 1:
        raise errors[0]
    raise ConfigErrors(list[InputError](errors))


def _rule_environment_errors(config: PlatformConfig, locator: Locator) -> list[ConfigError]:
    """A rule naming an environment that does not exist would silently never match."""
    known = sorted(config.environments)
    errors: list[ConfigError] = []
    for index, rule in enumerate(config.rules):
        for name in rule.environments() or ():
            if name not in config.environments:
                loc: tuple[str | int, ...] = ("rules", index, "environment")
                errors.append(
                    ConfigError(
                        f"unknown environment {name!r}; environments: {', '.join(known)}",
                        location=locator(loc),
                        field=field_name(loc),
                        hint="define it under [environments] or fix the name",
                    )
                )
    return errors


def _config_errors(
    exc: ValidationError, data: dict[str, Any], locator: Locator
) -> list[ConfigError]:
    grouped: dict[tuple[str | int, ...], list[str]] = {}
    for error in exc.errors():
        loc = _clean_loc(tuple(error.get("loc", ())), data, error)
        message = _message(error, loc)
        messages = grouped.setdefault(loc, [])
        if message not in messages:
            messages.append(message)
    errors = [
        ConfigError(_merge(messages), location=locator(loc), field=field_name(loc) or None)
        for loc, messages in grouped.items()
    ]
    return sorted(errors, key=lambda e: (e.location and e.location.line) or 0)


def field_name(loc: tuple[str | int, ...]) -> str:
    """``("policies", "sec.no-root")`` -> ``policies."sec.no-root"`` (TOML quoting for odd keys)."""
    return ".".join(
        str(part) if isinstance(part, int) or _BARE_KEY.fullmatch(part) else f'"{part}"'
        for part in loc
    )


def _merge(messages: list[str]) -> str:
    """Union branches fail separately; say it once: 'should be a valid string or a valid list'."""
    if len(messages) == 1:
        return messages[0]
    prefix = "Input should be "
    found = _FOUND.search(messages[0])
    bodies = [_FOUND.sub("", m) for m in messages]
    if all(body.startswith(prefix) for body in bodies):
        text = prefix + " or ".join(body[len(prefix) :] for body in bodies)
        return text + (found.group(0) if found else "")
    return "; ".join(messages)


def _clean_loc(loc: tuple[Any, ...], data: Any, error: Mapping[str, Any]) -> tuple[str | int, ...]:
    """Drop pydantic's union member tags (``str``, ``list[str]``) so the path names input keys."""
    cleaned: list[str | int] = []
    current: Any = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(current, dict):
            if part in current:
                cleaned.append(part)
                current = current[part]
                continue
            if last:
                cleaned.append(part)
            break
        if isinstance(current, list):
            if isinstance(part, int) and 0 <= part < len(current):
                cleaned.append(part)
                current = current[part]
            continue  # a tag inside a list: skip it, the index follows
        break  # a scalar has no children: the rest are tags
    # A validator that rejects one key of a table (an environment name) names that key.
    if error.get("type") == "value_error" and isinstance(current, dict):
        text = str(error.get("msg", ""))
        hits = [key for key in current if repr(key) in text]
        if len(hits) == 1:
            cleaned.append(hits[0])
    return tuple(cleaned)


def _message(error: Mapping[str, Any], loc: tuple[str | int, ...]) -> str:
    kind = error.get("type", "")
    msg = str(error.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        key = loc[-1] if loc else "?"
        suffix = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {key!r}{suffix}"
    if kind == "missing":
        return f"missing required key {loc[-1]!r}" if loc else "missing required key"
    if kind == "literal_error":
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"{error.get('input')!r} is not one of: {expected}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if "input" in error and not isinstance(error["input"], dict | list):
        return f"{msg} (found {error['input']!r})"
    return msg


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys a table at ``loc`` accepts, from the models (for 'unknown key' hints)."""
    from pydantic import BaseModel

    from podium.config.models import PlatformConfig

    current: Any = PlatformConfig
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(info.alias or name for name, info in current.model_fields.items())
    return []


def _step(annotation: Any, part: str | int) -> Any:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return _unwrap(info.annotation)
        return None
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is dict and len(args) == 2:
        return _unwrap(args[1])
    if origin is list and args:
        return _unwrap(args[0])
    return None


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        return members[0] if len(members) == 1 else annotation
    return annotation


__all__ = [
    "ConfigErrors",
    "load_config_dict",
    "load_config_file",
    "load_config_text",
    "platform_json_schema",
]
