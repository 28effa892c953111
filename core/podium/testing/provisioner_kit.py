"""The :class:`~podium.provisioning.Provisioner` conformance kit.

Re-exported by :mod:`podium.testing.conformance`. The engine's crash recovery
relies on what it checks: ``create`` converges, ``read`` tells absent from whole,
``delete`` really deletes, and outputs are what the provisioner declares.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

import pytest

from podium.errors import ResourceError, TransientError
from podium.provisioning.schema import resource_schema
from podium.testing._report import (
    broken,
    call,
    describe,
    key_list,
    outputs_diff,
    redact_text,
    secret_type_problems,
    valid_name,
)


def declared_outputs(provisioner: Any) -> frozenset[str]:
    """The outputs every create and read must return: its schema's, except optional ones.

    Declared through ``output_fields`` or the 0.1 ``outputs`` and ``secret_outputs``.
    """
    return resource_schema(provisioner).required_outputs


def declared_secrets(provisioner: Any) -> frozenset[str]:
    """The outputs its schema declares sensitive (``Output(sensitive=True)``, ``secret_outputs``)."""
    return resource_schema(provisioner).sensitive_outputs


class ProvisionerConformance:
    """The :class:`~podium.provisioning.Provisioner` contract.

    Provide ``provisioner``. Optional fixtures:

    * ``resource_params``: params for the test resource;
    * ``provoke_error``: a function ``(provisioner, make_context)`` that makes the
      provisioner fail, to check the failure is typed;
    * ``count_resources``: a function ``(ctx) -> int`` counting the real resources
      for ``ctx``, to prove a second create made no second resource and that
      ``delete`` removed it;
    * ``interrupt_create``: a function ``(provisioner, ctx)`` that leaves the
      half-made resource a create killed midway (SIGKILL, lost connection) would
      leave, to check it is reported absent or adopted whole.
    * ``param_updates``: ``{param: (before, after, observe)}``, ``observe(ctx)``
      reading the real resource, to check ``update`` honours each param (the
      contract: every param not ``forces_replacement`` is changed in place).
    """

    @pytest.fixture
    def resource_params(self) -> dict[str, Any]:
        return {}

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any] | None:
        return None

    @pytest.fixture
    def count_resources(self) -> Callable[[Any], int] | None:
        return None

    @pytest.fixture
    def interrupt_create(self) -> Callable[[Any, Any], Any] | None:
        return None

    @pytest.fixture
    def param_updates(self) -> Mapping[str, tuple[Any, Any, Callable[[Any], Any]]] | None:
        return None

    @pytest.fixture
    def make_context(
        self, provisioner: Any, podium_resource_context: Any, resource_params: dict[str, Any]
    ) -> Callable[..., Any]:
        def make(name: str = "conformance", **kwargs: Any) -> Any:
            kwargs.setdefault("params", resource_params)
            return podium_resource_context(provisioner, name=name, **kwargs)

        return make

    @pytest.fixture
    def resource(self, provisioner: Any, make_context: Callable[..., Any]) -> Iterator[Any]:
        """A context for a fresh resource, deleted after the test whatever happens."""
        ctx = make_context(f"conformance-{uuid.uuid4().hex[:6]}")
        yield ctx
        call(f"delete({ctx.uid}) in the kit's cleanup", provisioner.delete, ctx)

    @staticmethod
    def _outputs(provisioner: Any, ctx: Any, operation: str = "create") -> Mapping[str, Any]:
        """Call ``create`` (or ``read``) and check it returned a mapping of outputs."""
        outputs = call(f"{operation}({ctx.uid})", getattr(provisioner, operation), ctx)
        if not isinstance(outputs, Mapping):
            broken(
                f"{operation}-returns-outputs",
                f"{operation} returns the resource's outputs as a dict",
                f"{operation} returned {describe(outputs)}",
            )
        return outputs

    @staticmethod
    def _count_is(count_resources: Callable[[Any], int] | None, ctx: Any, want: int) -> None:
        if count_resources is None:
            return
        found = call("the count_resources fixture", count_resources, ctx)
        if found != want:
            rule, requires = {
                0: ("delete-removes-the-resource", "after delete, no real resource is left"),
                1: ("create-is-idempotent", "create makes one real resource, never a second"),
            }[want]
            broken(rule, requires, f"count_resources found {found} for {ctx.uid}, expected {want}")

    def test_registration_name_is_valid(self, provisioner: Any) -> None:
        valid_name(getattr(provisioner, "name", None), "provisioner")
        rtype = getattr(provisioner, "resource_type", None)
        if not isinstance(rtype, str) or not rtype:
            broken(
                "resource-type-declared",
                "resource_type is a non-empty str (the Score resource type it provisions)",
                f"resource_type is {rtype!r}",
            )
        if "*" in provisioner.resource_classes and not provisioner.handles(rtype, "default"):
            broken(
                "handles-its-type",
                "a provisioner for every class handles its own resource_type",
                f"handles({rtype!r}, 'default') returned False",
            )

    def test_create_twice_is_idempotent(
        self, provisioner: Any, resource: Any, count_resources: Callable[[Any], int] | None
    ) -> None:
        first = self._outputs(provisioner, resource)
        second = self._outputs(provisioner, resource)
        diff = outputs_diff(first, second, "the first create", "the second")
        if diff:
            broken(
                "create-is-idempotent",
                "a second create of the same resource returns the same outputs "
                "(crash recovery calls create again)",
                "a second create returned other outputs: " + "; ".join(diff),
            )
        self._count_is(count_resources, resource, 1)

    def test_read_after_create_returns_outputs(self, provisioner: Any, resource: Any) -> None:
        created = self._outputs(provisioner, resource)
        found = call(f"read({resource.uid})", provisioner.read, resource)
        if not isinstance(found, Mapping):
            broken(
                "read-finds-what-create-made",
                "read of an existing resource returns its outputs",
                f"read after create returned {describe(found)}",
            )
        diff = outputs_diff(created, found, "create", "read")
        if diff:
            broken(
                "read-finds-what-create-made",
                "read returns the outputs create returned",
                "read differs from create: " + "; ".join(diff),
            )

    def test_read_of_missing_resource_is_none(
        self, provisioner: Any, make_context: Callable[..., Any]
    ) -> None:
        ctx = make_context(f"never-created-{uuid.uuid4().hex[:6]}")
        found = call(f"read({ctx.uid}) of a resource never created", provisioner.read, ctx)
        if found is not None:
            broken(
                "read-of-missing-is-none",
                "read returns None for a resource that does not exist (not {} nor outputs)",
                f"read of a resource never created returned {describe(found)}",
            )

    def test_delete_of_missing_resource_succeeds(
        self, provisioner: Any, make_context: Callable[..., Any]
    ) -> None:
        ctx = make_context(f"never-created-{uuid.uuid4().hex[:6]}")
        call(f"delete({ctx.uid}) of a resource never created", provisioner.delete, ctx)

    def test_delete_then_read_is_none(
        self, provisioner: Any, resource: Any, count_resources: Callable[[Any], int] | None
    ) -> None:
        self._outputs(provisioner, resource)
        call(f"delete({resource.uid})", provisioner.delete, resource)
        # A new context, so a provisioner caching on the context object cannot hide the resource.
        again = replace(resource)
        found = call(f"read({resource.uid}) after delete", provisioner.read, again)
        if found is not None:
            broken(
                "delete-removes-the-resource",
                "after delete(ctx), read(ctx) returns None: the resource is gone",
                f"read after delete returned {describe(found)}: the resource was left behind",
            )
        self._count_is(count_resources, resource, 0)
        call(f"a second delete({resource.uid})", provisioner.delete, resource)

    def test_declared_outputs_are_returned(self, provisioner: Any, resource: Any) -> None:
        declared = declared_outputs(provisioner)
        if not declared:
            pytest.skip("the provisioner declares no outputs (set Provisioner.output_fields)")
        for operation in ("create", "read"):
            outputs = self._outputs(provisioner, resource, operation)
            missing = sorted(declared - set(outputs))
            if missing:
                broken(
                    "declared-outputs-are-returned",
                    f"{operation} returns every declared output ({', '.join(sorted(declared))})",
                    f"{operation} returned [{key_list(outputs)}]: missing {', '.join(missing)}",
                )

    def test_secret_outputs_are_secret(self, provisioner: Any, resource: Any) -> None:
        secrets = declared_secrets(provisioner)
        required = declared_outputs(provisioner)
        for operation in ("create", "read"):
            outputs = self._outputs(provisioner, resource, operation)
            missing = sorted((secrets & required) - set(outputs))
            problems = [f"{key!r} is declared sensitive but not returned" for key in missing]
            problems += secret_type_problems(outputs, secrets)
            if problems:
                broken(
                    "sensitive-outputs-are-declared-secrets",
                    "every sensitive output is a Secret and declared sensitive "
                    "(undeclared secrets are shown unredacted by tools that trust the declaration)",
                    f"{operation} returned: " + "; ".join(problems),
                )

    def test_interrupted_create_is_absent_or_adopted(
        self,
        provisioner: Any,
        resource: Any,
        interrupt_create: Callable[[Any, Any], Any] | None,
        count_resources: Callable[[Any], int] | None,
    ) -> None:
        if interrupt_create is None:
            pytest.skip("provide an interrupt_create fixture to check interrupted creates")
        call("the interrupt_create fixture", interrupt_create, provisioner, resource)
        found = call(
            f"read({resource.uid}) after an interrupted create", provisioner.read, resource
        )
        requires = (
            "after a create killed midway, read returns None (absent: the engine creates it "
            "again) or the complete outputs create then returns (the engine adopts what read "
            "returns and never calls create)"
        )
        if found is not None and not isinstance(found, Mapping):
            broken(
                "interrupted-create-absent-or-whole", requires, f"read returned {describe(found)}"
            )
        outputs = self._outputs(provisioner, resource)
        if found is not None:
            diff = outputs_diff(outputs, found, "create", "read after the interruption")
            if diff:
                broken(
                    "interrupted-create-absent-or-whole",
                    requires,
                    "read reported the half-made resource as existing, with outputs that "
                    "differ from the whole resource's: " + "; ".join(diff),
                )
        self._count_is(count_resources, resource, 1)
        final = call(f"read({resource.uid}) after the create", provisioner.read, resource)
        diff = (
            outputs_diff(outputs, final, "create", "read")
            if isinstance(final, Mapping)
            else ["read returned None"]
        )
        if diff:
            broken(
                "interrupted-create-absent-or-whole",
                "create after an interruption converges: read then returns its outputs",
                "; ".join(diff),
            )

    def test_failures_are_typed(
        self,
        provisioner: Any,
        make_context: Callable[..., Any],
        provoke_error: Callable[..., Any] | None,
    ) -> None:
        if provoke_error is None:
            pytest.skip("provide a provoke_error fixture to check the provisioner's errors")
        requires = "failures raise TransientError (retried) or ResourceError (reported as is)"
        try:
            provoke_error(provisioner, make_context)
        except (TransientError, ResourceError):
            return
        except Exception as exc:
            broken(
                "failures-are-typed",
                requires,
                f"provoke_error raised {type(exc).__name__}: {redact_text(str(exc))}",
            )
        broken("failures-are-typed", requires, "provoke_error raised nothing")

    def test_update_honours_each_param(
        self,
        provisioner: Any,
        make_context: Callable[..., Any],
        resource_params: dict[str, Any],
        param_updates: Mapping[str, tuple[Any, Any, Callable[[Any], Any]]] | None,
    ) -> None:
        """A param changed in place is really changed: never "updated" for nothing."""
        schema = resource_schema(provisioner)
        replacing = schema.forces_replacement
        if not param_updates:
            in_place = [p.name for p in schema.params() if p.name not in replacing]
            if not in_place:
                pytest.skip(f"{schema.resource_type} declares no param changed in place")
            pytest.skip(
                "provide a param_updates fixture to check update honours each param "
                f"(changed in place: {', '.join(in_place)})"
            )
        for param, (before, after, observe) in param_updates.items():
            if param in replacing:
                broken(
                    "params-are-honoured",
                    "param_updates names params changed in place",
                    f"{param!r} is declared forces_replacement: a change replaces the resource",
                )
            name = f"conformance-{uuid.uuid4().hex[:6]}"
            old = make_context(name, params={**resource_params, param: before})
            new = make_context(name, params={**resource_params, param: after})
            try:
                outputs = self._outputs(provisioner, old)
                seen = call("the param_updates observer", observe, old)
                call(f"update({new.uid})", provisioner.update, new, outputs)
                now = call("the param_updates observer", observe, new)
            finally:
                call(f"delete({old.uid}) in the kit's cleanup", provisioner.delete, old)
            if now == seen:
                broken(
                    "params-are-honoured",
                    "update brings the real resource to each param it does not replace for",
                    f"after update of {param!r} from {before!r} to {after!r} the resource "
                    f"still shows {redact_text(repr(now))}",
                )
