"""The platform config (``podium.toml``) as pydantic models.

``podium schema platform`` exports these as JSON Schema; the config reference in
sdk_docs is generated from the field descriptions below.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PolicyLevel = Literal["advisory", "mandatory", "off"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class PlatformSection(_Section):
    name: str = Field("podium", description="Platform name; part of every physical resource name.")
    state_dir: str = Field(
        ".podium",
        description="Directory for local state, keys and logs, relative to the config file.",
    )
    workloads: list[str] = Field(
        default_factory=list,
        description="Score files (globs relative to the config file) used when no -f is given.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        from podium.platform.context import validate_name

        return validate_name(value, "platform")


class PluginsSection(BaseModel):
    """``[plugins]``: which installed plugins load, and each one's settings.

    ``allow`` entries are plugin names with an optional PEP 440 pin
    (``"aws>=0.1,<0.2"``). Without ``allow`` every installed plugin loads.
    ``[plugins.<name>]`` tables hold that plugin's settings.
    """

    model_config = ConfigDict(extra="allow")

    allow: list[str] | None = Field(
        None, description='Plugins allowed to load, each optionally pinned: "aws>=0.1,<0.2".'
    )
    deny: list[str] = Field(default_factory=list, description="Plugins never to load.")
    strict: bool = Field(
        False,
        description="Also refuse read-only commands (plugins list, doctor, status) when an "
        "allowlisted plugin cannot load (like --strict-plugins). Changing commands (plan, "
        "apply, up, destroy) always refuse unless the plugin is listed in optional.",
    )
    optional: list[str] = Field(
        default_factory=list,
        description="Plugins whose failure to load is only a warning, even for plan/apply/up/destroy.",
    )
    registration_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds a plugin's registration hook may take; a hook still running "
        "then fails its plugin as hung (the hung thread keeps running in the background).",
    )

    @property
    def settings(self) -> dict[str, dict[str, Any]]:
        """``[plugins.<name>]`` tables, by plugin name."""
        extra = self.model_extra or {}
        return {k: v for k, v in extra.items() if isinstance(v, dict)}

    @model_validator(mode="after")
    def _extras_are_tables(self) -> PluginsSection:
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                raise ValueError(
                    f"unknown key {key!r} in [plugins]: plugin settings go in a [plugins.{key}] table"
                )
        return self


Tier = Literal["dev", "staging", "prod"]


def default_tier(environment: str) -> Tier:
    """``prod*``/``production`` are prod, ``dev``/``local``/``test*`` are dev, the rest staging."""
    if environment.startswith("prod"):
        return "prod"
    if environment in ("dev", "local", "development") or environment.startswith("test"):
        return "dev"
    return "staging"


class EnvironmentSection(_Section):
    description: str = Field("", description="What this environment is for.")
    tier: Tier | None = Field(
        None,
        description="dev, staging or prod: built-in policies are stricter in prod. "
        "Default from the name (prod* -> prod, dev/local/test* -> dev, else staging).",
    )
    deployer: str | None = Field(None, description="Name of the deployer registration to use.")
    rollback_on_failure: bool = Field(
        False, description="Redeploy the last good release when a deploy fails."
    )
    parallelism: int | None = Field(
        None, ge=1, le=256, description="Overrides [engine] parallelism."
    )
    protect_data: bool | None = Field(
        None,
        description="Refuse a plan that deletes or replaces a resource holding data (DATA "
        "LOSS) unless --allow-data-loss is given. Default: true for the prod tier.",
    )
    policies: dict[str, PolicyLevel] = Field(
        default_factory=dict,
        description="Policy levels in this environment only (pack or pack.check to advisory, "
        "mandatory or off); they win over [policies] here.",
    )
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Free-form options passed to plugins as env.settings."
    )


class RuleSection(_Section):
    """``[[rules]]``: which provisioner fulfils a resource request, with what params.

    A rule matches when every field it sets equals the request's; the rule that
    sets the most of ``class``, ``id`` and ``environment`` wins, and among equals
    the first in the file.
    """

    type: str = Field(description="Resource type (postgres, s3, route...).")
    resource_class: str | None = Field(None, alias="class", description="Resource class to match.")
    id: str | None = Field(None, description="Resource id to match (shared resources).")
    environment: str | list[str] | None = Field(None, description="Environment name(s) to match.")
    provisioner: str = Field(description="Name of the provisioner registration.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Params merged under the workload's own params."
    )
    locked_params: list[str] = Field(
        default_factory=list,
        description="Param names a workload may not set or override: the rule's value always "
        "wins, and a workload that sets one is refused at validate.",
    )
    shared_across_owners: bool = Field(
        False,
        description="Let workloads of different owners share the id resource this rule matches "
        "(an id resource is otherwise owned by the first owner that created it).",
    )

    def environments(self) -> list[str] | None:
        if self.environment is None:
            return None
        return [self.environment] if isinstance(self.environment, str) else list(self.environment)


class StateSection(_Section):
    backend: str = Field("sqlite", description="Name of the state backend registration.")
    options: dict[str, Any] = Field(default_factory=dict, description="Options for the backend.")
    lock_ttl: float = Field(
        60.0,
        gt=0,
        le=86_400,
        allow_inf_nan=False,
        description="Seconds a lock lease lasts without renewal.",
    )


class SecretsSection(_Section):
    store: str = Field("local", description="Name of the secret store registration.")
    key_file: str | None = Field(
        None,
        description="File holding the state encryption key (default <state_dir>/key, or "
        "<state_dir>/key.wrapped with a key_provider); PODIUM_STATE_KEY overrides it.",
    )
    key_provider: str | None = Field(
        None,
        description="Key provider registration that wraps the state's data key (envelope "
        "encryption): the key file then holds only the wrapped key.",
    )
    wrapping_key: str | None = Field(
        None,
        description="The key provider's key that wraps the data key (an OpenBao transit "
        "key name, for example); required with key_provider.",
    )

    @model_validator(mode="after")
    def _wrapping_key_given(self) -> SecretsSection:
        if (self.key_provider is None) != (self.wrapping_key is None):
            raise ValueError("key_provider and wrapping_key go together: set both or neither")
        return self


class TelemetrySection(_Section):
    jsonl: bool = Field(
        False,
        description="Export Podium's spans to <state_dir>/spans.jsonl (appends; off by default, "
        "as OpenTelemetry exports nothing unless asked).",
    )
    console: bool = Field(False, description="Print Podium's spans to stderr.")
    otlp: bool | None = Field(
        None,
        description="Export spans over OTLP/HTTP; default: when OTEL_EXPORTER_OTLP_ENDPOINT is set.",
    )
    sinks: list[str] = Field(
        default_factory=list, description="Telemetry sink registrations to use."
    )
    service_name: str = Field("podium", description="OpenTelemetry service.name.")


class EngineSection(_Section):
    parallelism: int = Field(
        8, ge=1, le=256, description="Nodes applied, and resources a refresh reads, at once."
    )
    retries: int = Field(3, ge=0, le=20, description="Retries of a transient failure per node.")
    retry_backoff: float = Field(
        0.5,
        ge=0,
        le=3600,
        allow_inf_nan=False,
        description="First retry delay in seconds; doubles with each retry, plus up to as "
        "much again of random jitter.",
    )
    retry_max_delay: float = Field(
        30.0,
        ge=0,
        le=3600,
        allow_inf_nan=False,
        description="Longest wait between two retries of a node, in seconds.",
    )
    timeout: float | None = Field(
        None,
        gt=0,
        le=86_400,
        allow_inf_nan=False,
        description="Seconds one plugin operation may take before it is failed.",
    )
    per_plugin: dict[str, Annotated[int, Field(ge=1, le=256)]] = Field(
        default_factory=dict, description="Maximum concurrent operations per plugin name."
    )


class TeamSection(_Section):
    """``[teams.<name>]``: which Score files a team owns."""

    paths: list[str] = Field(
        default_factory=list,
        description="Globs, relative to the platform root, of the Score files this team owns "
        '("teams/payments/**").',
    )


Role = Literal["viewer", "developer", "admin"]


class AccessRule(_Section):
    """``[access.<environment>]``: which roles of ``podium serve`` may change an environment."""

    apply: list[Role] = Field(
        default_factory=lambda: list[Role](["developer", "admin"]),
        description="Roles that may apply, destroy and roll back in this environment.",
    )
    with_approval: list[Role] = Field(
        default_factory=list,
        description="Roles that may apply a plan once a second identity approved that plan.",
    )
    approvers: list[Role] = Field(
        default_factory=lambda: list[Role](["admin"]),
        description="Roles whose approval of a plan counts (never the applier's own).",
    )


class OidcIssuer(_Section):
    """``[[serve.oidc]]``: an identity provider whose JWTs ``podium serve`` accepts."""

    issuer: str = Field(description="The token's iss claim must equal this.")
    audience: str = Field(description="The token's aud claim must contain this.")
    jwks_file: str | None = Field(
        None, description="JSON Web Key Set file (relative to the platform root)."
    )
    jwks_url: str | None = Field(None, description="JSON Web Key Set URL (fetched, then cached).")
    team_claim: str = Field("podium_team", description="Claim naming the caller's team.")
    role_claim: str = Field("podium_role", description="Claim naming the caller's role.")
    algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "ES256"], description="Accepted signing algorithms."
    )

    @model_validator(mode="after")
    def _one_key_source(self) -> OidcIssuer:
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError("set exactly one of jwks_file and jwks_url")
        return self


class ServeSection(_Section):
    """``[serve]``: the ``podium serve`` API server."""

    oidc: list[OidcIssuer] = Field(default_factory=list, description="Accepted OIDC issuers.")
    queue_timeout: float = Field(
        300.0, gt=0, description="Seconds a run waits behind another run's lease before failing."
    )
    max_body: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted, in bytes."
    )
    database: str = Field(
        "sqlite",
        description='Where the server keeps tokens, plans, runs and approvals: "sqlite" (a '
        "file in the state directory, one server) or a postgresql:// URI shared by several "
        "servers (PODIUM_SERVE_DATABASE overrides it: keep passwords out of this file).",
    )
    database_schema: str = Field(
        "podium_serve",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema of the server's tables.",
    )
    heartbeat_interval: float = Field(
        5.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="Seconds between a server's heartbeats in the server database (how "
        "other servers tell it is alive).",
    )
    heartbeat_timeout: float = Field(
        30.0,
        gt=0,
        le=86_400,
        allow_inf_nan=False,
        description="Seconds without a heartbeat, by the database's clock, after which a "
        "server counts as dead: any other server then marks its unfinished runs aborted. "
        "At least twice heartbeat_interval.",
    )

    @model_validator(mode="after")
    def _timeout_outlasts_beats(self) -> ServeSection:
        if self.heartbeat_timeout < 2 * self.heartbeat_interval:
            raise ValueError(
                "heartbeat_timeout must be at least twice heartbeat_interval (one late "
                "heartbeat must not make a live server look dead)"
            )
        return self


class PlatformConfig(_Section):
    """The whole of ``podium.toml``."""

    platform: PlatformSection = Field(default_factory=PlatformSection)  # type: ignore[arg-type]
    plugins: PluginsSection = Field(default_factory=PluginsSection)  # type: ignore[arg-type]
    environments: dict[str, EnvironmentSection] = Field(
        default_factory=lambda: {"dev": EnvironmentSection()},  # type: ignore[call-arg]
        description="Environments by name.",
    )
    rules: list[RuleSection] = Field(default_factory=list)
    teams: dict[str, TeamSection] = Field(
        default_factory=dict,
        description="Teams by name; a workload's owner is the team whose paths match its Score "
        "file, else the file's directory relative to the platform root.",
    )
    policies: dict[str, PolicyLevel] = Field(
        default_factory=dict, description="Policy name (pack.check) to level."
    )
    state: StateSection = Field(default_factory=StateSection)  # type: ignore[arg-type]
    secrets: SecretsSection = Field(default_factory=SecretsSection)  # type: ignore[arg-type]
    telemetry: TelemetrySection = Field(default_factory=TelemetrySection)  # type: ignore[arg-type]
    engine: EngineSection = Field(default_factory=EngineSection)  # type: ignore[arg-type]
    access: dict[str, AccessRule] = Field(
        default_factory=dict,
        description="Who may change each environment through podium serve (default: "
        "developer and admin apply).",
    )
    serve: ServeSection = Field(default_factory=ServeSection)  # type: ignore[arg-type]

    @field_validator("environments")
    @classmethod
    def _env_names(cls, value: dict[str, EnvironmentSection]) -> dict[str, EnvironmentSection]:
        from podium.platform.context import validate_name

        for name in value:
            validate_name(name, "environment")
        return value

    @model_validator(mode="after")
    def _access_names_environments(self) -> PlatformConfig:
        unknown = sorted(set(self.access) - set(self.environments))
        if unknown:
            raise ValueError(
                f"[access.{unknown[0]}] names no environment (environments: "
                f"{', '.join(sorted(self.environments))})"
            )
        return self
