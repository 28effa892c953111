"""What every AWS provisioner shares: clients, region, names and tags."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict

from podium.plugin import Param, Provisioner, ResourceContext, ResourceError
from podium_aws.clients import AwsClients
from podium_aws.naming import SAFE_NAME, physical_name, standard_tags
from podium_aws.settings import Settings


def _true_or_false_text(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return value


#: A boolean param as :func:`bool_param` reads it: true/false, or the text "true"/"false".
Flag = Annotated[bool, Strict(), BeforeValidator(_true_or_false_text)]


class AwsParams(BaseModel):
    """Params every AWS resource takes; each provisioner's model adds its own.

    Unknown params are refused (at validate, and again by ``check_params`` at apply).
    Numbers are accepted where text is expected (``engine_version: 16``), as before.
    """

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    region: str | None = Param(
        None,
        forces_replacement=True,
        description="The AWS region (default: the plugin's region setting).",
    )


class AwsProvisioner(Provisioner):
    #: The service's longest allowed physical name.
    max_name_length: ClassVar[int] = 63
    params_model: ClassVar[type[BaseModel] | None] = AwsParams

    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self.settings = settings
        self.clients = clients

    def region(self, ctx: ResourceContext) -> str:
        return self.clients.region(_str_param(ctx, "region"))

    def client(self, service: str, ctx: ResourceContext) -> Any:
        return self.clients.client(service, _str_param(ctx, "region"))

    def name_for(self, ctx: ResourceContext) -> str:
        """The resource's physical name: the core's, when it fits this service's rules.

        The core journals ``ctx.physical_name`` with each intent, so using it keeps
        state, journal and cloud in agreement; a name prefix or a shorter limit
        derive another name from the same platform, environment and uid.
        """
        given = ctx.physical_name
        if (
            not self.settings.name_prefix
            and len(given) <= self.max_name_length
            and SAFE_NAME.match(given)
        ):
            return given
        return physical_name(ctx.env, ctx.uid, self.settings, self.max_name_length)

    def tags_for(self, ctx: ResourceContext) -> dict[str, str]:
        return standard_tags(self.settings, ctx.env, uid=ctx.uid, workload=ctx.workload)

    @property
    def known_params(self) -> frozenset[str]:
        """Params this provisioner understands (its model's); anything else is refused."""
        model = self.params_model or AwsParams
        return frozenset(info.alias or name for name, info in model.model_fields.items())

    def check_params(self, ctx: ResourceContext) -> None:
        unknown = sorted(set(ctx.params) - self.known_params)
        if unknown:
            allowed = ", ".join(sorted(self.known_params))
            raise ResourceError(
                f"{self.name}: unknown param(s) {', '.join(unknown)} for {ctx.uid}; "
                f"known params: {allowed}"
            )


def _str_param(ctx: ResourceContext, key: str) -> str | None:
    value = ctx.params.get(key)
    return str(value) if value else None


def int_param(ctx: ResourceContext, key: str, default: int | None = None) -> int | None:
    value = ctx.params.get(key, default)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ResourceError(
            f"param {key!r} of {ctx.uid} must be an integer, got {value!r}"
        ) from None


def bool_param(ctx: ResourceContext, key: str, default: bool) -> bool:
    value = ctx.params.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ResourceError(f"param {key!r} of {ctx.uid} must be true or false, got {value!r}")


def optional_flag(ctx: ResourceContext, key: str, default: bool) -> bool:
    """A ``Flag | None`` param: unset or null means ``default`` (which may depend on the
    environment, like data protection defaults), else as :func:`bool_param`."""
    if ctx.params.get(key) is None:
        return default
    return bool_param(ctx, key, default)
