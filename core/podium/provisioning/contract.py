"""What a resource provisioner is: the interface behind ``podium_provisioners``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from podium.platform.context import EnvironmentInfo
from podium.security.secret import Secret

if TYPE_CHECKING:
    from pydantic import BaseModel

    from podium.provisioning.schema import Output

Outputs = dict[str, Any]
"""A resource's outputs: JSON-like values, with :class:`~podium.Secret` for sensitive ones."""


@dataclass(frozen=True)
class ResourceContext:
    """Everything a provisioner needs to act on one resource.

    ``uid`` is Score's resource identity (``postgres.default#web.db``);
    ``physical_name`` is the deterministic name the real resource carries, so a
    create interrupted by a crash is found again by :meth:`Provisioner.read`.
    ``params`` are the resource's params after placeholder expansion merged over
    the matching rule's params. Call :meth:`generate_secret` for passwords: the
    value is journaled (encrypted) before it is returned, so a retry after a crash
    gets the same value back.
    """

    uid: str
    type: str
    resource_class: str
    id: str | None
    workload: str | None
    params: Mapping[str, Any]
    physical_name: str
    env: EnvironmentInfo
    annotations: Mapping[str, str] = field(default_factory=dict)
    _generator: Callable[[str, Callable[[], str]], Secret] | None = None

    def generate_secret(self, key: str, factory: Callable[[], str] | None = None) -> Secret:
        """Return the stable generated secret ``key`` for this resource, creating it once."""
        make = factory or default_password
        if self._generator is None:
            return Secret(make())
        return self._generator(key, make)


def default_password() -> str:
    import secrets

    return secrets.token_urlsafe(24)


class Provisioner(ABC):
    """Creates, reads, updates and deletes one type of resource.

    Subclass it, set ``name`` (the registration name rules refer to),
    ``resource_type`` and optionally ``resource_classes`` (``("*",)`` = all).

    The contract, checked by ``podium.testing``'s conformance kit:

    * ``create`` is idempotent: called twice for the same context it returns the
      same resource, never a second one (crash recovery relies on it);
    * ``read`` returns the outputs of an existing resource, or ``None`` when it does
      not exist; it never creates anything;
    * ``delete`` of a resource that does not exist succeeds;
    * sensitive outputs are :class:`~podium.Secret` values, declared sensitive;
    * failures raise :class:`~podium.errors.TransientError` (retried) or
      :class:`~podium.errors.ResourceError` (not retried).

    Its schema (see :mod:`podium.provisioning.schema`) is ``params_model``, a pydantic
    model of the params, and ``output_fields``, its outputs with their flags;
    ``validate`` and ``plan`` check params and placeholders against them. The 0.1
    attributes below still work and are kept equal to the schema.
    """

    name: ClassVar[str]
    resource_type: ClassVar[str]
    resource_classes: ClassVar[tuple[str, ...]] = ("*",)
    #: Output keys that are always secret.
    secret_outputs: ClassVar[frozenset[str]] = frozenset()
    #: Param keys whose change needs a new resource rather than an in-place update.
    replace_on: ClassVar[frozenset[str]] = frozenset()
    #: How many operations of this provisioner may run at once (``None`` = no limit).
    max_parallel: ClassVar[int | None] = None
    #: Output keys a workload may reference; documented and checked when known.
    outputs: ClassVar[tuple[str, ...]] = ()
    #: Param keys only a platform rule may set, because they grant access (which operator
    #: variables or files a resource exposes, say). A workload that sets one is refused
    #: at validate, as if every rule for this provisioner listed it in ``locked_params``.
    platform_params: ClassVar[frozenset[str]] = frozenset()
    #: The params as a pydantic model (``Param(...)`` fields carry the flags); ``None``:
    #: params go unchecked.
    params_model: ClassVar[type[BaseModel] | None] = None
    #: Every output by name, with its flags (``Output(sensitive=True)``...).
    output_fields: ClassVar[Mapping[str, Output]] = {}
    #: The resource holds data (a database, a bucket, a volume): a plan that deletes or
    #: replaces it says DATA LOSS, and a protected environment refuses that without
    #: ``--allow-data-loss``. 0.1 provisioners do not set it (False).
    holds_data: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.params_model is not None or cls.output_fields:
            # One source of truth: code written against 0.1 reads the same declarations.
            from podium.provisioning.schema import legacy_declarations

            cls.outputs, cls.secret_outputs, cls.replace_on, cls.platform_params = (
                legacy_declarations(cls)
            )

    @abstractmethod
    def create(self, ctx: ResourceContext) -> Outputs:
        """Create the resource (or adopt it if it exists already) and return its outputs."""

    @abstractmethod
    def read(self, ctx: ResourceContext) -> Outputs | None:
        """Return the outputs of the existing resource, or ``None`` if it does not exist."""

    def update(self, ctx: ResourceContext, previous: Mapping[str, Any]) -> Outputs:
        """Bring an existing resource to ``ctx.params``. Default: ``create`` is idempotent."""
        return self.create(ctx)

    @abstractmethod
    def delete(self, ctx: ResourceContext) -> None:
        """Delete the resource. Deleting one that does not exist succeeds."""

    def requires_replace(
        self, old_params: Mapping[str, Any], new_params: Mapping[str, Any]
    ) -> bool:
        """Whether moving from ``old_params`` to ``new_params`` needs delete + create.

        Default: a param the schema flags as forcing replacement changed.
        """
        from podium.provisioning.schema import resource_schema

        flagged = resource_schema(self).forces_replacement
        return any(old_params.get(k) != new_params.get(k) for k in flagged)

    def handles(self, resource_type: str, resource_class: str) -> bool:
        return resource_type == self.resource_type and (
            "*" in self.resource_classes or resource_class in self.resource_classes
        )
