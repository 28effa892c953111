"""Everything a plugin author imports, in one module (plugin API 1.3).

Write ``from podium.plugin import ...`` and nothing else from Podium in a plugin's
code (its tests add :mod:`podium.testing`). Every name here is supported for the
whole 1.x plugin API; the modules they live in are Podium's internals and may
move. Importing this module is cheap: a name's home module (pydantic models,
the engine, cryptography) loads the first time the name is used.

The plugin module (the entry point)
    :data:`hookimpl` marks hook implementations; ``PODIUM_API = ">=1.1,<2"`` declares
    the plugin API range (:data:`API_VERSION` is the running core's). Hooks receive
    an :class:`EnvironmentInfo` (platform, environment, private ``state_dir``);
    registration hooks may take a :class:`PlatformInfo` (name, root directory,
    state root, config path);
    :func:`validate_name` is the rule every registration name follows.
    ``podium_platform_started``/``podium_platform_closing`` receive the
    :class:`Platform`. A deprecated hook or argument warns with
    :class:`PodiumDeprecationWarning`, naming the API version that removes it.

Provisioning — ``podium_provisioners``
    Subclass :class:`Provisioner`; its methods get a :class:`ResourceContext` and
    return :data:`Outputs`. Declare the resource's schema with a pydantic
    ``params_model`` (fields made with :func:`Param`) and ``output_fields``
    (:class:`Output`); :func:`resource_schema` returns the :class:`ResourceSchema`
    the core checks workloads against.

Deployment — ``podium_deployers``, ``podium_enrich_deployment``, ``podium_patch_manifests``
    Subclass :class:`Deployer`; it gets a :class:`DeployContext` and a
    :class:`RenderedWorkload` (:class:`RenderedContainer`, :class:`RenderedFile`,
    :class:`RenderedVolume`, :class:`RenderedResource`, :class:`ServicePort`,
    :class:`Probe`, :class:`HttpProbe`) and returns :class:`DeploymentResult`,
    :class:`WorkloadStatus` (:class:`ContainerStatus`, :data:`HealthState`,
    :data:`ReadyCondition`), :class:`LogLine` and :class:`Release`. The context
    carries the previous release and its outputs, a deadline, a :class:`CancelSignal`
    and a logger; :meth:`Deployer.check_workload` reports what the deployer cannot run
    at ``validate``/``plan`` time. A deployer that renders manifests mixes in
    :class:`Renderer` (``podium render``; patches through a :data:`ManifestPatcher`).

Deployment helpers — for process and container deployers
    Probes: :func:`run_probe` (a contract :class:`Probe`), :func:`probe_http`,
    :func:`probe_exec`, :func:`http_probe_url`, each a :class:`ProbeResult`. Logs:
    :func:`read_logs` over :class:`LogSource` files (``tail``, ``follow``),
    :func:`tail_lines`. Processes: :func:`stop_process_group` (TERM, then KILL after a
    timeout; a :class:`StopOutcome`), :func:`process_start_time`,
    :func:`process_group_members`. State: :class:`DeployerState` (a private
    per-deployer directory with atomic writes and a lock), :func:`write_atomic`,
    :func:`file_lock`.

Observability — ``podium_telemetry_sinks``, ``podium_event``, ``podium_configure_telemetry``
    Subclass :class:`TelemetrySink` to receive every :class:`Event`; return a
    :class:`TelemetryConfig` for a deployed workload.

Security — ``podium_secret_stores``, ``podium_key_providers``, ``podium_policy_packs``, ``podium_validate_workload``, ``podium_check_plan``
    Subclass :class:`SecretStore`, :class:`KeyProvider` or :class:`PolicyPack`; checks receive the
    :class:`Workload` or the :class:`Plan` and return :class:`Finding` objects
    (:data:`Level`). Sensitive values are :class:`Secret`; :func:`reveal`,
    :func:`redact` and :func:`contains_secret` handle nested values
    (:data:`REDACTED` is what a secret prints as). :class:`LocalSecretStore` is
    the core's encrypted store, for plugins that fall back to it;
    :class:`EnvironmentSecrets` is a store as one environment sees it, and
    :class:`SecretVersion` describes a stored secret without its value.

State backends and CLI commands — ``podium_state_backends``, ``podium_cli_commands``
    Subclass :class:`StateBackend`, returning a :class:`StateStore` (or a
    :class:`TransactionalStateStore`) that keeps :class:`ResourceRecord`,
    :class:`Intent`/:class:`IntentOutcome` and :class:`LockInfo`. Secrets arrive
    sealed by :class:`StateCipher` (:func:`is_sealed`, :func:`generate_key`,
    :func:`reseal_value` for ``StateStore.reseal``) and
    are stored as they are. SQL backends share the core's row helpers
    (:data:`RECORD_COLUMNS`, :func:`record_placeholders`, :func:`record_row`,
    :func:`record_from_row`, :func:`dumps`, :func:`now_iso`, :func:`without`) and
    lease rules (:func:`takeover_reason`, :func:`locked_error`, :func:`pid_alive`,
    :func:`lease_identity`, :func:`lease_lost_error`, :func:`lock_from_dict` for fencing);
    a SQL backend is usually just a :class:`SqlDialect` run by the shared
    :class:`SqlStateStore` (its rows selected by a :class:`Scope`). History kept as a
    hash-chained audit trail (:class:`AuditRecord`, :class:`AuditHead`) starts from
    :data:`GENESIS_HASH`; a migration seals older entries with :func:`seal_entries`, and
    :func:`verify_chain` checks a chain. The migration itself is shared but for the SQL
    dialect: :func:`audit_column_definitions` are the columns it adds to ``history``,
    :func:`seal_history` the statement and rows that seal older entries (a
    :class:`SealedHistory`), :data:`HISTORY_APPEND_ONLY` what its triggers say.
    A command is a :class:`CliCommand`.

Workload templates — ``podium_workload_templates``
    A :class:`WorkloadTemplate` names a directory of copier template versions.

Files
    :func:`make_private_dir` and :func:`open_private_append` make directories and
    files only the user running Podium can read, whatever the umask.

Errors
    Raise :class:`TransientError` for what is worth retrying,
    :class:`ResourceError` for a permanent, explained failure, and
    :class:`CancelledError` to stop at a safe point once the run is cancelled;
    :class:`ConfigError`, :class:`InputError` (with a :class:`Location`),
    :class:`NotFoundError`, :class:`StateError`, :class:`LockedError` and
    :class:`PluginError` are :class:`PodiumError` subclasses with their own exit codes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.plugins.markers import hookimpl
from podium.version import API_VERSION

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.deployment.contract import (
        CancelSignal,
        ContainerStatus,
        DeployContext,
        Deployer,
        DeploymentResult,
        HealthState,
        HttpProbe,
        LogLine,
        ManifestPatcher,
        Probe,
        ReadyCondition,
        Release,
        RenderedContainer,
        RenderedFile,
        RenderedResource,
        RenderedVolume,
        RenderedWorkload,
        Renderer,
        ServicePort,
        WorkloadStatus,
    )
    from podium.engine.plan import Plan
    from podium.errors import (
        CancelledError,
        ConfigError,
        ExitCode,
        InputError,
        LeaseLostError,
        Location,
        LockedError,
        NotFoundError,
        PluginError,
        PodiumError,
        ResourceError,
        StateError,
        TransientError,
    )
    from podium.observability.contract import Event, TelemetryConfig, TelemetrySink
    from podium.platform.context import EnvironmentInfo, PlatformInfo, validate_name
    from podium.platform.contract import (
        CliCommand,
        Intent,
        IntentOutcome,
        LockInfo,
        ResourceRecord,
        StateBackend,
        StateStore,
        TransactionalStateStore,
        WorkloadTemplate,
    )
    from podium.plugins.deprecations import PodiumDeprecationWarning
    from podium.provisioning.contract import Outputs, Provisioner, ResourceContext
    from podium.provisioning.schema import Output, Param, ResourceSchema, resource_schema
    from podium.security.contract import (
        Finding,
        KeyProvider,
        Level,
        PolicyPack,
        SecretStore,
        SecretVersion,
    )
    from podium.security.crypto import StateCipher, generate_key, is_sealed, reseal_value
    from podium.security.env_secrets import EnvironmentSecrets
    from podium.security.local_store import LocalSecretStore
    from podium.security.policies import literal_secret
    from podium.security.private_files import make_private_dir, open_private_append
    from podium.security.secret import REDACTED, Secret, contains_secret, redact, reveal
    from podium.state.audit_chain import (
        GENESIS_HASH,
        AuditHead,
        AuditRecord,
        seal_entries,
        verify_chain,
    )
    from podium.state.audit_migration import (
        HISTORY_APPEND_ONLY,
        SealedHistory,
        audit_column_definitions,
        seal_history,
    )
    from podium.state.lease import (
        lease_identity,
        lease_lost_error,
        lock_from_dict,
        locked_error,
        pid_alive,
        takeover_reason,
    )
    from podium.state.rows import (
        RECORD_COLUMNS,
        dumps,
        now_iso,
        record_from_row,
        record_placeholders,
        record_row,
        without,
    )
    from podium.state.sql import ConnectionLost, Scope, SqlDialect, SqlStateStore
    from podium.supervision.logs import LogSource, read_logs, tail_lines
    from podium.supervision.probes import (
        ProbeResult,
        http_probe_url,
        probe_exec,
        probe_http,
        run_probe,
    )
    from podium.supervision.processes import (
        StopOutcome,
        process_group_members,
        process_start_time,
        stop_process_group,
    )
    from podium.supervision.state_files import DeployerState, file_lock, write_atomic
    from podium.workload.model import Workload

#: Each home module and the names this module takes from it; the same names as the
#: ``TYPE_CHECKING`` imports above (a test keeps the two in step).
_HOMES: dict[str, tuple[str, ...]] = {
    "podium.api": ("Platform",),
    "podium.deployment.contract": (
        "CancelSignal",
        "ContainerStatus",
        "DeployContext",
        "Deployer",
        "DeploymentResult",
        "HealthState",
        "HttpProbe",
        "LogLine",
        "ManifestPatcher",
        "Probe",
        "ReadyCondition",
        "Release",
        "RenderedContainer",
        "RenderedFile",
        "RenderedResource",
        "RenderedVolume",
        "RenderedWorkload",
        "Renderer",
        "ServicePort",
        "WorkloadStatus",
    ),
    "podium.engine.plan": ("Plan",),
    "podium.errors": (
        "CancelledError",
        "ConfigError",
        "ExitCode",
        "InputError",
        "LeaseLostError",
        "Location",
        "LockedError",
        "NotFoundError",
        "PluginError",
        "PodiumError",
        "ResourceError",
        "StateError",
        "TransientError",
    ),
    "podium.observability.contract": ("Event", "TelemetryConfig", "TelemetrySink"),
    "podium.platform.context": ("EnvironmentInfo", "PlatformInfo", "validate_name"),
    "podium.platform.contract": (
        "CliCommand",
        "Intent",
        "IntentOutcome",
        "LockInfo",
        "ResourceRecord",
        "StateBackend",
        "StateStore",
        "TransactionalStateStore",
        "WorkloadTemplate",
    ),
    "podium.plugins.deprecations": ("PodiumDeprecationWarning",),
    "podium.provisioning.contract": ("Outputs", "Provisioner", "ResourceContext"),
    "podium.provisioning.schema": ("Output", "Param", "ResourceSchema", "resource_schema"),
    "podium.security.contract": (
        "Finding",
        "KeyProvider",
        "Level",
        "PolicyPack",
        "SecretStore",
        "SecretVersion",
    ),
    "podium.security.env_secrets": ("EnvironmentSecrets",),
    "podium.security.crypto": ("StateCipher", "generate_key", "is_sealed", "reseal_value"),
    "podium.security.local_store": ("LocalSecretStore",),
    "podium.security.private_files": ("make_private_dir", "open_private_append"),
    "podium.security.policies": ("literal_secret",),
    "podium.security.secret": ("REDACTED", "Secret", "contains_secret", "redact", "reveal"),
    "podium.state.audit_chain": (
        "AuditHead",
        "AuditRecord",
        "GENESIS_HASH",
        "seal_entries",
        "verify_chain",
    ),
    "podium.state.audit_migration": (
        "HISTORY_APPEND_ONLY",
        "SealedHistory",
        "audit_column_definitions",
        "seal_history",
    ),
    "podium.state.lease": (
        "lease_identity",
        "lease_lost_error",
        "lock_from_dict",
        "locked_error",
        "pid_alive",
        "takeover_reason",
    ),
    "podium.state.rows": (
        "RECORD_COLUMNS",
        "dumps",
        "now_iso",
        "record_from_row",
        "record_placeholders",
        "record_row",
        "without",
    ),
    "podium.state.sql": ("ConnectionLost", "Scope", "SqlDialect", "SqlStateStore"),
    "podium.supervision.logs": ("LogSource", "read_logs", "tail_lines"),
    "podium.supervision.probes": (
        "ProbeResult",
        "http_probe_url",
        "probe_exec",
        "probe_http",
        "run_probe",
    ),
    "podium.supervision.processes": (
        "StopOutcome",
        "process_group_members",
        "process_start_time",
        "stop_process_group",
    ),
    "podium.supervision.state_files": ("DeployerState", "file_lock", "write_atomic"),
    "podium.workload.model": ("Workload",),
}

if not TYPE_CHECKING:  # type checkers see the precise imports above, and no catch-all
    from podium._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, _HOMES)
    del lazy_exports

__all__ = [
    "API_VERSION",
    "GENESIS_HASH",
    "HISTORY_APPEND_ONLY",
    "RECORD_COLUMNS",
    "REDACTED",
    "AuditHead",
    "AuditRecord",
    "CancelSignal",
    "CancelledError",
    "CliCommand",
    "ConfigError",
    "ConnectionLost",
    "ContainerStatus",
    "DeployContext",
    "Deployer",
    "DeployerState",
    "DeploymentResult",
    "EnvironmentInfo",
    "EnvironmentSecrets",
    "Event",
    "ExitCode",
    "Finding",
    "HealthState",
    "HttpProbe",
    "InputError",
    "Intent",
    "IntentOutcome",
    "KeyProvider",
    "LeaseLostError",
    "Level",
    "LocalSecretStore",
    "Location",
    "LockInfo",
    "LockedError",
    "LogLine",
    "LogSource",
    "ManifestPatcher",
    "NotFoundError",
    "Output",
    "Outputs",
    "Param",
    "Plan",
    "Platform",
    "PlatformInfo",
    "PluginError",
    "PodiumDeprecationWarning",
    "PodiumError",
    "PolicyPack",
    "Probe",
    "ProbeResult",
    "Provisioner",
    "ReadyCondition",
    "Release",
    "RenderedContainer",
    "RenderedFile",
    "RenderedResource",
    "RenderedVolume",
    "RenderedWorkload",
    "Renderer",
    "ResourceContext",
    "ResourceError",
    "ResourceRecord",
    "ResourceSchema",
    "Scope",
    "SealedHistory",
    "Secret",
    "SecretStore",
    "SecretVersion",
    "ServicePort",
    "SqlDialect",
    "SqlStateStore",
    "StateBackend",
    "StateCipher",
    "StateError",
    "StateStore",
    "StopOutcome",
    "TelemetryConfig",
    "TelemetrySink",
    "TransactionalStateStore",
    "TransientError",
    "Workload",
    "WorkloadStatus",
    "WorkloadTemplate",
    "audit_column_definitions",
    "contains_secret",
    "dumps",
    "file_lock",
    "generate_key",
    "hookimpl",
    "http_probe_url",
    "is_sealed",
    "lease_identity",
    "lease_lost_error",
    "literal_secret",
    "lock_from_dict",
    "locked_error",
    "make_private_dir",
    "now_iso",
    "open_private_append",
    "pid_alive",
    "probe_exec",
    "probe_http",
    "process_group_members",
    "process_start_time",
    "read_logs",
    "record_from_row",
    "record_placeholders",
    "record_row",
    "redact",
    "reseal_value",
    "resource_schema",
    "reveal",
    "run_probe",
    "seal_entries",
    "seal_history",
    "stop_process_group",
    "tail_lines",
    "takeover_reason",
    "validate_name",
    "verify_chain",
    "without",
    "write_atomic",
]
