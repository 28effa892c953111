"""Validating against the Score JSON Schema and saying what is wrong in plain words.

Two validators, each imported on first use and built once per process:

* jsonschema-rs answers yes or no, about a hundred times faster than jsonschema; nearly
  every Score file is valid, so this is the only check most of them see;
* jsonschema (the reference implementation) runs only on a document jsonschema-rs did not
  accept, and its errors are turned into the messages below.

jsonschema-rs is never the last word on a "no": its regular expressions are ECMA-262
ones, stricter than Python's in corners (``$`` before a trailing newline, ``\\d`` and
non-ASCII digits), so a document it refuses is valid when jsonschema finds no problem.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from podium.workload.source import FieldPath, describe_type

# jsonschema ships no type hints; its errors are handled as Any here.
ValidationError = Any

#: Score's RFC 1123 label pattern, used for workload, container, resource and port names.
LABEL_PATTERN = "^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$"
LABEL_RULE = (
    "use 2-63 lowercase letters, digits and '-', starting and ending with a letter or digit"
)

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}

Problem = tuple[FieldPath, str]


@cache
def _fast_validator() -> Any:
    from podium.workload.schema import workload_json_schema

    jsonschema_rs = importlib.import_module("jsonschema_rs")
    # offline: the schema's references are all local; never fetch anything (it would also
    # spend tenths of a second looking up the schema's $id).
    return jsonschema_rs.Draft202012Validator(workload_json_schema(), offline=True)


def surely_valid(document: Any) -> bool:
    """Whether jsonschema-rs accepts ``document``; False means "ask :func:`schema_problems`"."""
    try:
        return bool(_fast_validator().is_valid(document))
    except Exception:  # a value it cannot convert (a non-string key, a date): not its call
        return False


@cache
def _validator() -> Any:
    from podium.workload.schema import workload_json_schema

    jsonschema = importlib.import_module("jsonschema")
    return jsonschema.Draft202012Validator(workload_json_schema())


def schema_problems(document: Any) -> list[Problem]:
    """Every schema violation in ``document`` as (field path, message), in document order."""
    problems: list[Problem] = []
    for error in _validator().iter_errors(document):
        for problem in _explain(error):
            if problem not in problems:
                problems.append(problem)
    return problems


def _explain(error: ValidationError) -> list[Problem]:
    path: FieldPath = tuple(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.absolute_schema_path:
        return [((*path, str(instance)), _bad_name(instance, kind, value, schema, key=True))]
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        where = "top-level key" if not path else "field"
        return [
            ((*path, key), f"unknown {where} {key!r}; allowed: {', '.join(allowed)}")
            for key in instance
            if key not in allowed
        ]
    if kind == "required":
        missing = [name for name in value if name not in instance]
        return [((*path, name), f"missing required field {name!r}") for name in missing]
    if kind == "type":
        wanted = value if isinstance(value, list) else [value]
        words = " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in wanted)
        return [(path, f"expected {words}, found {describe_type(instance)} ({_short(instance)})")]
    if kind == "pattern":
        return [(path, _bad_pattern(path, instance, value))]
    if kind in ("minLength", "maxLength"):
        return [(path, _bad_name(instance, kind, value, schema, key=False))]
    if kind == "enum":
        return [(path, f"{_short(instance)} is not one of: {', '.join(map(str, value))}")]
    if kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        return [(path, f"{_short(instance)} is out of range: it must be {bound} {value}")]
    if kind == "minProperties":
        if path == ("containers",):
            return [(path, "a workload needs at least one container")]
        return [(path, f"needs at least {value} entries")]
    if kind == "not" and isinstance(instance, dict) and "target" in instance:
        return [
            (
                (*path, "target"),
                "'target' belongs only to the deprecated list form; in the map form the key "
                "is the target path",
            )
        ]
    if kind in ("oneOf", "anyOf"):
        return _explain_alternatives(error, path)
    return [(path, error.message)]


def _explain_alternatives(error: ValidationError, path: FieldPath) -> list[Problem]:
    branches = error.validator_value
    instance = error.instance
    required_only = all(set(branch) == {"required"} for branch in branches)
    if required_only and isinstance(instance, dict):
        names = [branch["required"][0] for branch in branches]
        present = [name for name in names if name in instance]
        if error.validator == "anyOf":
            return [(path, f"needs {' or '.join(names)}")]
        if not present:
            return [(path, f"needs exactly one of: {', '.join(names)}")]
        return [(path, f"set only one of {', '.join(names)}; found {' and '.join(present)}")]
    # files / volumes: a map (current form) or a list (deprecated form).
    branch_types = [branch.get("type") for branch in branches]
    if branch_types == ["array", "object"]:
        wanted = 0 if isinstance(instance, list) else 1 if isinstance(instance, dict) else None
        if wanted is None:
            what = {"files": "file", "volumes": "volume"}.get(
                str(path[-1]) if path else "", "entry"
            )
            return [
                (
                    path,
                    f"expected a mapping of target path to {what} settings (or the deprecated "
                    f"list form), found {describe_type(instance)}",
                )
            ]
        problems: list[Problem] = []
        for sub in error.context:
            if sub.relative_schema_path and sub.relative_schema_path[0] == wanted:
                problems.extend(_explain(sub))
        return problems or [(path, error.message)]
    if error.context:
        best = importlib.import_module("jsonschema.exceptions").best_match(error.context)
        if best is not None:
            return _explain(best)
    return [(path, "does not match any allowed form")]


def _bad_pattern(path: FieldPath, instance: Any, pattern: str) -> str:
    if path == ("apiVersion",):
        return f"apiVersion must be 'score.dev/v1b1', found {_short(instance)}"
    if pattern == LABEL_PATTERN:
        extra = " (it names files and resources, so '/', '.' and uppercase are not allowed)"
        what = "workload name" if path == ("metadata", "name") else "name"
        return f"{what} {_short(instance)} is invalid: {LABEL_RULE}" + (
            extra if path == ("metadata", "name") else ""
        )
    if len(path) >= 2 and path[-2:] in (("limits", "memory"), ("requests", "memory")):
        return f"{_short(instance)} is not a memory size like 128M or 1.5Gi"
    if len(path) >= 2 and path[-2:] in (("limits", "cpu"), ("requests", "cpu")):
        return f"{_short(instance)} is not a CPU amount like 2, 0.5 or 250m"
    if path and path[-1] == "mode":
        return f'{_short(instance)} is not an octal file mode like "0644"'
    return f"{_short(instance)} does not match the pattern {pattern}"


def _bad_name(instance: Any, kind: str, value: Any, schema: dict[str, Any], *, key: bool) -> str:
    noun = "key" if key else "value"
    if schema.get("pattern") == LABEL_PATTERN:
        return f"name {_short(instance)} is invalid: {LABEL_RULE}"
    if kind == "pattern" and value == "^[^=]+$":
        return f"variable name {_short(instance)} must not contain '='"
    if kind == "minLength":
        if value == 1:
            return f"{noun} must not be empty"
        return f"{noun} {_short(instance)} is too short: at least {value} characters"
    if kind == "maxLength":
        return f"{noun} {_short(instance)} is too long: at most {value} characters"
    if kind == "pattern":
        return f"{noun} {_short(instance)} does not match the pattern {value}"
    return f"{noun} {_short(instance)} is invalid ({kind} {value})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["LABEL_PATTERN", "Problem", "schema_problems", "surely_valid"]
