"""Typed plugin settings: ``[plugins.<name>]`` overlaid with ``PODIUM_PLUGIN_<NAME>_<KEY>``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from podium.errors import ConfigError, Location

Locate = Callable[[tuple[str | int, ...]], Location | None]


class SettingsError(ConfigError):
    """A plugin's settings are invalid; ``errors`` has one ConfigError per bad key.

    ``field`` and ``location`` are the first error's, the message lists them all.
    """

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.reason, location=first.location, field=first.field)
        self.errors = errors
        self.message = "; ".join(e.message for e in errors)


def env_prefix(plugin: str) -> str:
    """``aws-s3`` -> ``PODIUM_PLUGIN_AWS_S3_``."""
    return "PODIUM_PLUGIN_" + plugin.upper().replace("-", "_").replace(".", "_") + "_"


def env_values(plugin: str, environ: Mapping[str, str]) -> dict[str, tuple[str, Any]]:
    """Settings from the environment: key -> (variable name, value).

    Values are JSON when they parse as JSON (``8``, ``true``, ``["a"]``), else strings.
    """
    prefix = env_prefix(plugin)
    found: dict[str, tuple[str, Any]] = {}
    for variable, raw in environ.items():
        if not variable.startswith(prefix) or len(variable) == len(prefix):
            continue
        key = variable[len(prefix) :].lower()
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        found[key] = (variable, value)
    return found


def resolve(
    plugin: str,
    model: Any,
    table: Mapping[str, Any] | None,
    environ: Mapping[str, str],
    locate: Locate | None = None,
    base_dir: Path | None = None,
) -> Any:
    """Validate a plugin's settings with its pydantic ``model``; raise ConfigError per bad key.

    With ``base_dir`` (the directory of ``podium.toml``), fields typed as paths are
    resolved against it (see :mod:`podium.plugins.setting_paths`).
    """
    from pydantic import ValidationError

    def validate(values: dict[str, Any]) -> Any:
        if base_dir is None:
            return model.model_validate(values)
        from podium.plugins.setting_paths import resolve_defaults, resolve_inputs

        inputs = resolve_inputs(model, values, base_dir)
        return resolve_defaults(model.model_validate(inputs), base_dir)

    values: dict[str, Any] = dict(table or {})
    from_env: dict[str, str] = {}
    raw_env: dict[str, str] = {}
    fields = _field_names(model)
    for key, (variable, value) in env_values(plugin, environ).items():
        name = fields.get(key, key)
        values[name] = value
        from_env[name] = variable
        raw_env[name] = environ[variable]
    try:
        try:
            return validate(values)
        except ValidationError as first:
            # A value that parsed as JSON may be meant as text ("8080" for a str
            # field): retry those keys with the raw string before giving up.
            retry = {str(e["loc"][0]) for e in first.errors() if e.get("loc")} & set(raw_env)
            retry = {k for k in retry if values[k] != raw_env[k]}
            if not retry:
                raise
            return validate({**values, **{k: raw_env[k] for k in retry}})
    except ValidationError as exc:
        errors: list[ConfigError] = []
        for error in exc.errors():
            loc = tuple(error.get("loc", ()))
            key = ".".join(str(part) for part in loc)
            field = f"plugins.{plugin}" + (f".{key}" if key else "")
            location: Location | None = None
            head = str(loc[0]) if loc else ""
            if head in from_env:
                location = Location(f"environment variable {from_env[head]}")
            elif locate is not None:
                location = locate(("plugins", plugin, *loc))
            errors.append(ConfigError(error.get("msg", "invalid"), field=field, location=location))
        raise SettingsError(errors) from None


def _field_names(model: Any) -> dict[str, str]:
    """Lower-cased field names and aliases -> the name to validate with."""
    names: dict[str, str] = {}
    for name, info in getattr(model, "model_fields", {}).items():
        names[name.lower()] = name
        if info.alias:
            names[info.alias.lower()] = info.alias
    return names


#: ``scheme://user:password@``: a password written into a URL.
_URL_PASSWORD = re.compile(r"(?<=://)([^/@:\s]*):[^/@\s]*@")


def shown(settings: Any) -> Any:
    """A plugin's validated settings as plain data that is safe to print (``plugins info``).

    Fields typed as secrets (Podium's ``Secret``, pydantic's ``SecretStr`` or
    ``Secret[...]``) show their masked form; a password written into a URL in any
    other text field (``https://user:password@proxy``) is masked too, in case a
    plugin did not type its field as a secret.
    """
    from podium.security.secret import redact

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            return _URL_PASSWORD.sub(r"\1:***@", value)
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v) for v in value]
        return value

    return mask(redact(settings.model_dump(mode="python")))
