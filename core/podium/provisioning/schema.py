"""Resource schemas: the params a provisioner takes and the outputs it returns.

A provisioner declares them on its class, the way a Terraform provider schema does::

    from pydantic import BaseModel, ConfigDict
    from podium.provisioning import Output, Param, Provisioner

    class BucketParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        versioning: bool = Param(False, description="Keep every version of every object.")
        region: str | None = Param(None, forces_replacement=True)

    class BucketProvisioner(Provisioner):
        name = "my-bucket"
        resource_type = "s3"
        params_model = BucketParams
        output_fields = {
            "bucket": Output("The bucket's name."),
            "secret_key": Output("Its access key's secret.", sensitive=True),
        }

The pydantic model is the canonical form of the params (``podium schema resource``
prints the JSON Schema pydantic generates from it). The 0.1 declarations
(``outputs``, ``secret_outputs``, ``replace_on``, ``platform_params``) still work:
:func:`resource_schema` folds them into the same :class:`ResourceSchema`, which is
what every check reads, so a flag means the same wherever it is declared.

pydantic is imported only where a model is validated or exported: declaring
:class:`Output` values and reading a schema cost no import.
"""

from __future__ import annotations

import builtins
import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from podium.provisioning.param_problems import ParamProblem

#: JSON Schema keyword marking a param whose change needs a new resource (``replace_on``).
FORCES_REPLACEMENT = "x-podium-forces-replacement"
#: JSON Schema keyword marking a param only a platform rule may set (``platform_params``).
PLATFORM_ONLY = "x-podium-platform-only"
#: JSON Schema keyword marking an output that is a :class:`~podium.Secret`.
SENSITIVE = "x-podium-sensitive"
#: JSON Schema keyword marking an output read again at each deploy, never kept in state.
LIVE = "x-podium-live"

_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}


def Param(
    default: Any = ...,
    *,
    description: str | None = None,
    forces_replacement: bool = False,
    platform_only: bool = False,
    **field_options: Any,
) -> Any:
    """A pydantic ``Field`` for a provisioner param, with Podium's flags.

    ``forces_replacement``: changing the param replaces the resource (delete, then
    create) instead of updating it in place. ``platform_only``: only the platform
    team's rule may set it, because it grants access; a Score file that sets it is
    refused at validate. Other keyword arguments go to ``pydantic.Field``; leave out
    ``default`` for a required param. The flags are stored in the field's JSON Schema
    (``x-podium-forces-replacement``, ``x-podium-platform-only``), so writing them there
    with a plain ``Field(json_schema_extra=...)`` means the same.
    """
    from pydantic import Field

    extra: dict[str, Any] = dict(field_options.pop("json_schema_extra", None) or {})
    if forces_replacement:
        extra[FORCES_REPLACEMENT] = True
    if platform_only:
        extra[PLATFORM_ONLY] = True
    return Field(default, description=description, json_schema_extra=extra or None, **field_options)


@dataclass(frozen=True)
class Output:
    """One output a provisioner returns, for ``Provisioner.output_fields``.

    ``type`` is the Python type of the value (``str``, ``int``, ``float``, ``bool``,
    ``list``, ``dict``; ``None`` for any). ``sensitive``: the value is a
    :class:`~podium.Secret` (plain strings are wrapped), redacted in plans and
    encrypted in state. ``optional``: some resources lack it (it depends on a param);
    every other declared output is returned by every ``create`` and ``read``.
    ``computed``: the value is known only once the resource exists (the default;
    ``readOnly`` in the JSON Schema); ``False`` for one that only echoes a param.
    ``live``: a secret whose source of truth stays outside Podium (OpenBao, say): the
    engine never writes its value to state, only a keyed fingerprint, and calls the
    provisioner's ``read`` for it again whenever it renders a workload for a deploy or
    a rollback. A live output is sensitive whatever ``sensitive`` says.
    """

    description: str = ""
    type: builtins.type[Any] | None = str
    sensitive: bool = False
    optional: bool = False
    computed: bool = True
    live: bool = False

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {}
        json_type = _JSON_TYPES.get(self.type)
        if json_type:
            schema["type"] = json_type
        if self.description:
            schema["description"] = self.description
        if self.computed:
            schema["readOnly"] = True
        if self.sensitive or self.live:
            schema[SENSITIVE] = True
        if self.live:
            schema[LIVE] = True
        return schema

    @property
    def type_name(self) -> str:
        return _JSON_TYPES.get(self.type, "any")


@dataclass(frozen=True)
class ParamInfo:
    """One param of a schema, as ``podium schema resource`` shows it."""

    name: str
    type: str
    required: bool
    default: Any
    description: str
    forces_replacement: bool
    platform_only: bool


@dataclass(frozen=True)
class ResourceSchema:
    """What one provisioner declares: params (a pydantic model) and outputs, with flags.

    ``outputs_declared`` is False for a provisioner that declares no outputs (a 0.1
    plugin without ``outputs``): then nothing checks placeholders against them.
    ``params_model`` is None when it declares no params model: params go unchecked.
    """

    provisioner: str
    resource_type: str
    resource_classes: tuple[str, ...] = ("*",)
    params_model: type[BaseModel] | None = None
    outputs: Mapping[str, Output] = field(default_factory=dict)
    outputs_declared: bool = False
    forces_replacement: frozenset[str] = frozenset()
    platform_only: frozenset[str] = frozenset()
    #: deleting or replacing the resource destroys data (a database, a volume): plans
    #: label it DATA LOSS and protected environments refuse it without consent
    holds_data: bool = False

    @property
    def unknown_params(self) -> str:
        """What happens to a param the model does not name: refused, ignored or kept.

        ``unchecked`` when there is no model.
        """
        if self.params_model is None:
            return "unchecked"
        extra = self.params_model.model_config.get("extra") or "ignore"
        return {"forbid": "refused", "allow": "kept"}.get(str(extra), "ignored")

    @property
    def sensitive_outputs(self) -> frozenset[str]:
        return frozenset(name for name, out in self.outputs.items() if out.sensitive or out.live)

    @property
    def live_outputs(self) -> frozenset[str]:
        """Outputs whose values the engine reads again at deploy, never storing them."""
        return frozenset(name for name, out in self.outputs.items() if out.live)

    @property
    def required_outputs(self) -> frozenset[str]:
        """Outputs every ``create`` and ``read`` returns (declared and not optional)."""
        return frozenset(name for name, out in self.outputs.items() if not out.optional)

    # ------------------------------------------------------------------ params
    def params(self) -> list[ParamInfo]:
        """The declared params, model fields first, then 0.1 flags naming other keys."""
        found: list[ParamInfo] = []
        if self.params_model is not None:
            for name, info in self.params_model.model_fields.items():
                key = info.alias or name
                found.append(
                    ParamInfo(
                        name=key,
                        type=_annotation_text(info.annotation),
                        required=info.is_required(),
                        default=None if info.is_required() else _default(info),
                        description=info.description or "",
                        forces_replacement=key in self.forces_replacement,
                        platform_only=key in self.platform_only,
                    )
                )
        named = {p.name for p in found}
        for key in sorted((self.forces_replacement | self.platform_only) - named):
            found.append(
                ParamInfo(
                    name=key,
                    type="any",
                    required=False,
                    default=None,
                    description="",
                    forces_replacement=key in self.forces_replacement,
                    platform_only=key in self.platform_only,
                )
            )
        return found

    def check_params(self, params: Mapping[str, Any]) -> list[ParamProblem]:
        """Validate ``params`` (the rule's merged with the workload's) against the model.

        A value holding a placeholder is known only at apply, once the resource it
        refers to exists: problems with it are not reported here. Errors other than
        pydantic's ``ValidationError`` propagate (a broken model is a plugin fault).
        """
        if self.params_model is None:
            return []
        from pydantic import ValidationError

        try:
            # pydantic reads a dict without changing it: no copy for the common case.
            self.params_model.model_validate(params if isinstance(params, dict) else dict(params))
        except ValidationError as exc:
            from podium.provisioning.param_problems import param_problems

            return param_problems(exc, params, [p.name for p in self.params()])
        return []

    # ------------------------------------------------------------------ outputs
    def unknown_output(self, key: str) -> str | None:
        """Why ``key`` is not an output of this resource, or None when it may be one."""
        if not self.outputs_declared or key in self.outputs:
            return None
        return f"has no output {key!r}" + suggestion(key, list(self.outputs))

    # ------------------------------------------------------------- JSON Schema
    def json_schema(self) -> dict[str, Any]:
        """The schema as one JSON Schema document: ``params`` and ``outputs`` with flags."""
        params, defs = self._params_json_schema()
        outputs: dict[str, Any] = {
            "type": "object",
            "description": "What the resource's placeholders may name: "
            "${resources.<name>.<output>}.",
            "properties": {name: out.json_schema() for name, out in self.outputs.items()},
            "required": sorted(self.required_outputs),
            "additionalProperties": not self.outputs_declared,
        }
        document: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"{self.resource_type} ({self.provisioner})",
            "type": "object",
            "x-podium-resource-type": self.resource_type,
            "x-podium-provisioner": self.provisioner,
            "x-podium-resource-classes": list(self.resource_classes),
            "x-podium-holds-data": self.holds_data,
            "properties": {"params": params, "outputs": outputs},
        }
        if defs:
            document["$defs"] = defs
        return document

    def _params_json_schema(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if self.params_model is None:
            schema: dict[str, Any] = {
                "type": "object",
                "description": "The provisioner declares no params model: params go unchecked.",
                "properties": {},
                "additionalProperties": True,
            }
            defs: dict[str, Any] = {}
        else:
            schema = self.params_model.model_json_schema()
            defs = schema.pop("$defs", {})
        properties = schema.setdefault("properties", {})
        for key in self.forces_replacement:
            properties.setdefault(key, {})[FORCES_REPLACEMENT] = True
        for key in self.platform_only:
            properties.setdefault(key, {})[PLATFORM_ONLY] = True
        return schema, defs


def resource_schema(provisioner: Any) -> ResourceSchema:
    """The schema of a provisioner (an instance or its class), from every declaration.

    ``params_model`` and ``output_fields`` are read first; the 0.1 attributes add to
    them: ``outputs`` declares outputs, ``secret_outputs`` makes them sensitive,
    ``replace_on`` and ``platform_params`` flag params. A model field's
    ``x-podium-forces-replacement`` / ``x-podium-platform-only`` count too. Raises
    TypeError for a declaration of the wrong kind.
    """
    model = getattr(provisioner, "params_model", None)
    if model is not None and not (
        isinstance(model, type)
        and hasattr(model, "model_validate")
        and hasattr(model, "model_fields")
    ):
        raise TypeError(f"params_model must be a pydantic model class, not {model!r}")
    declared = getattr(provisioner, "output_fields", None) or {}
    if not isinstance(declared, Mapping) or not all(
        isinstance(key, str) and isinstance(value, Output) for key, value in declared.items()
    ):
        raise TypeError("output_fields must map output names to Output(...) declarations")
    fields: dict[str, Output] = dict(declared)
    legacy = tuple(getattr(provisioner, "outputs", None) or ())
    secrets = frozenset(getattr(provisioner, "secret_outputs", None) or ())
    for key in legacy:
        fields.setdefault(key, Output())
    for key in secrets:
        current = fields.get(key, Output())
        if not current.sensitive:
            fields[key] = replace(current, sensitive=True)
    replacing = set(getattr(provisioner, "replace_on", None) or ())
    platform = set(getattr(provisioner, "platform_params", None) or ())
    if model is not None:
        flagged = _model_flags(model)
        replacing |= flagged[FORCES_REPLACEMENT]
        platform |= flagged[PLATFORM_ONLY]
    return ResourceSchema(
        provisioner=str(getattr(provisioner, "name", "") or ""),
        resource_type=str(getattr(provisioner, "resource_type", "") or ""),
        resource_classes=tuple(getattr(provisioner, "resource_classes", None) or ("*",)),
        params_model=model,
        outputs=fields,
        outputs_declared=bool(getattr(provisioner, "output_fields", None) or legacy),
        forces_replacement=frozenset(replacing),
        platform_only=frozenset(platform),
        holds_data=getattr(provisioner, "holds_data", False) is True,
    )


def legacy_declarations(
    provisioner: Any,
) -> tuple[tuple[str, ...], frozenset[str], frozenset[str], frozenset[str]]:
    """``(outputs, secret_outputs, replace_on, platform_params)`` as 0.1 spelled them.

    :class:`~podium.provisioning.Provisioner` sets them from a new-style declaration,
    so code written against 0.1 that reads them sees the same schema.
    """
    schema = resource_schema(provisioner)
    return (
        tuple(schema.outputs),
        schema.sensitive_outputs,
        schema.forces_replacement,
        schema.platform_only,
    )


def suggestion(wrong: str, known: list[str]) -> str:
    """``"; did you mean 'access_key'? available: access_key, bucket"`` (or what exists)."""
    if not known:
        return "; it declares none"
    close = difflib.get_close_matches(wrong, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    return f"{hint} available: {', '.join(sorted(known))}"


@functools.cache
def _model_flags(model: Any) -> dict[str, frozenset[str]]:
    """Params a model flags, by flag (read once per model: plans ask for every resource)."""
    flags: dict[str, set[str]] = {FORCES_REPLACEMENT: set(), PLATFORM_ONLY: set()}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if not isinstance(extra, Mapping):
            continue
        for flag, keys in flags.items():
            if extra.get(flag):
                keys.add(info.alias or name)
    return {flag: frozenset(keys) for flag, keys in flags.items()}


def _annotation_text(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    return text or str(annotation).replace("typing.", "")


def _default(info: Any) -> Any:
    if info.default_factory is not None:
        try:
            return info.default_factory()
        except TypeError:  # a factory that wants the validated data
            return None
    return info.default


__all__ = [
    "FORCES_REPLACEMENT",
    "PLATFORM_ONLY",
    "SENSITIVE",
    "Output",
    "Param",
    "ParamInfo",
    "ResourceSchema",
    "legacy_declarations",
    "resource_schema",
    "suggestion",
]
