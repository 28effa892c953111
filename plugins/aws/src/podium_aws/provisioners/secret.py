"""``secret``: a value in Secrets Manager.

With ``params.key`` the resource resolves the platform secret an operator set
with ``podium secrets set [-e ENV] <key>`` (the ``aws-secretsmanager`` store uses the
same names; the environment's own value wins); if it is missing and ``generate`` is true a random value is created.
Without ``key`` the secret is private to this resource and environment and is
always generated. Only secrets this resource created are deleted with it.
"""

from __future__ import annotations

import secrets as _random
from typing import Any

from podium.plugin import Output, Outputs, Param, ResourceContext, ResourceError
from podium_aws.naming import secret_name, store_secret_name, tag_value
from podium_aws.provisioners.base import AwsParams, AwsProvisioner, Flag, bool_param, int_param
from podium_aws.secretsmanager import SecretsManager, StoredSecret


class SecretParams(AwsParams):
    key: str | None = Param(
        None,
        forces_replacement=True,
        description="The platform secret to resolve (podium secrets set KEY); "
        "without it the secret is private to this resource and generated.",
    )
    generate: Flag = Param(True, description="Generate a random value when the key is not set.")
    # A generated value is never regenerated in place (that would rotate it unasked):
    # a new length is a new secret, which the plan shows as a replace.
    length: int = Param(
        32,
        forces_replacement=True,
        description="Length of a generated value (a change replaces it).",
    )


class SecretsManagerSecretProvisioner(AwsProvisioner):
    name = "aws-secret"
    resource_type = "secret"
    params_model = SecretParams
    output_fields = {
        "value": Output("The secret's value.", sensitive=True),
        "arn": Output("The secret's ARN."),
        "name": Output("The secret's name in Secrets Manager."),
    }

    def create(self, ctx: ResourceContext) -> Outputs:
        self.check_params(ctx)
        store = self._store(ctx)
        name = self._secret_name(ctx)
        found = store.read(name)
        if found is None:
            if ctx.params.get("key") and not bool_param(ctx, "generate", True):
                raise ResourceError(
                    f"secret {ctx.params['key']!r} needed by {ctx.uid} is not set",
                    hint=f"run: podium secrets set {ctx.params['key']}",
                )
            length = int_param(ctx, "length", 32) or 32
            value = ctx.generate_secret("value", lambda: _random.token_urlsafe(length)[:length])
            found = store.write(
                name, value, tags=self.tags_for(ctx), description=f"podium: {ctx.uid}"
            )
        return self._outputs(found)

    def read(self, ctx: ResourceContext) -> Outputs | None:
        found = self._store(ctx).read(self._secret_name(ctx))
        return None if found is None else self._outputs(found)

    def update(self, ctx: ResourceContext, previous: Any) -> Outputs:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext) -> None:
        store = self._store(ctx)
        name = self._secret_name(ctx)
        found = store.read(name)
        if found is None:
            return
        created_here = found.tags.get("podium:resource-uid") == tag_value(ctx.uid) and (
            found.tags.get("podium:environment") == ctx.env.environment
        )
        if created_here:
            store.delete(name)

    def _store(self, ctx: ResourceContext) -> SecretsManager:
        return SecretsManager(self.clients, ctx.params.get("region"))

    def _secret_name(self, ctx: ResourceContext) -> str:
        key = ctx.params.get("key")
        if key:
            # The environment's own value overrides the platform-wide one (podium secrets
            # set -e ENV KEY), as in every secret store.
            own = store_secret_name(self.settings, ctx.env.platform, str(key), ctx.env.environment)
            if self._store(ctx).describe(own) is not None:
                return own
            return store_secret_name(self.settings, ctx.env.platform, str(key))
        return secret_name(
            self.settings, ctx.env.platform, ctx.env.environment, "resources", self.name_for(ctx)
        )

    def _outputs(self, found: StoredSecret) -> Outputs:
        return {"value": found.value, "arn": found.arn, "name": found.name}
