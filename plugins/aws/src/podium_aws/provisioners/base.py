"""What every AWS provisioner shares: clients, region, names and tags."""

from __future__ import annotations

from typing import Any, ClassVar

from podium.plugin import Provisioner, ResourceContext, ResourceError
from podium_aws.clients import AwsClients
from podium_aws.naming import SAFE_NAME, physical_name, standard_tags
from podium_aws.settings import Settings


class AwsProvisioner(Provisioner):
    #: The service's longest allowed physical name.
    max_name_length: ClassVar[int] = 63
    #: Params this provisioner understands; anything else is refused with a clear error.
    known_params: ClassVar[frozenset[str]] = frozenset()

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

    def check_params(self, ctx: ResourceContext) -> None:
        unknown = sorted(set(ctx.params) - self.known_params - {"region"})
        if unknown:
            allowed = ", ".join(sorted(self.known_params | {"region"}))
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
