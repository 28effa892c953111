"""The error hierarchy and the CLI's exit codes.

Every error Podium raises on purpose is a :class:`PodiumError`. Each class carries
the exit code the CLI returns for it, so scripts can tell a policy block from a
lock conflict without parsing text. The table is documented in sdk_docs/cli.md.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  #: unexpected or unclassified failure
    USAGE = 2  #: bad command line (click's own code)
    INVALID_INPUT = 3  #: a config, workload or plan file is invalid
    PLUGIN_FAULT = 4  #: a plugin failed to load or raised
    POLICY_BLOCKED = 5  #: a mandatory policy finding blocks apply
    APPLY_FAILED = 6  #: apply finished but some nodes failed
    LOCKED = 7  #: the state is locked by another run
    STALE_PLAN = 8  #: a saved plan no longer matches state
    NOT_FOUND = 9  #: a named thing (workload, release, secret, plugin) does not exist
    UNHEALTHY = 10  #: deployed workloads are not ready
    OWNERSHIP = 11  #: the change touches a workload or resource another owner holds
    UNVERIFIED_PLAN = 12  #: a saved plan does not match what its own sources plan to now
    CANCELLED = 130  #: the run was cancelled (Ctrl-C): in-flight changes finished and were recorded


class PodiumError(Exception):
    """Base class for every error Podium raises deliberately."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        return data


class Location:
    """Where in a file something is: rendered as ``path:line:column``."""

    __slots__ = ("column", "line", "path")

    def __init__(self, path: str, line: int | None = None, column: int | None = None) -> None:
        self.path = path
        self.line = line
        self.column = column

    def __str__(self) -> str:
        text = self.path
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text

    def __repr__(self) -> str:
        return f"Location({str(self)!r})"


class InputError(PodiumError):
    """A user-written file (config, workload, plan) is invalid.

    ``location`` points at the file and line; ``field`` names the offending key
    as a dotted path (``containers.web.variables.PORT``).
    """

    exit_code = ExitCode.INVALID_INPUT

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.location = location
        self.field = field
        prefix = f"{location}: " if location else ""
        where = f"{field}: " if field else ""
        super().__init__(f"{prefix}{where}{message}", hint=hint)
        self.reason = message

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.location:
            data["file"] = self.location.path
            data["line"] = self.location.line
        if self.field:
            data["field"] = self.field
        return data


class InputErrors(InputError):
    """Several input errors found in one pass, reported together."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.reason, location=first.location, field=first.field, hint=first.hint)
        self.message = "\n".join(e.message for e in errors)

    def to_dict(self) -> dict[str, Any]:
        return {"error": "InputErrors", "errors": [e.to_dict() for e in self.errors]}


class ConfigError(InputError):
    """``podium.toml`` (or an equivalent dict) is invalid."""


class WorkloadError(InputError):
    """A Score workload is invalid."""


class PluginError(PodiumError):
    """A plugin failed: it could not load, registered something invalid, or raised.

    The message always names the plugin, its distribution and version.
    """

    exit_code = ExitCode.PLUGIN_FAULT

    def __init__(
        self,
        message: str,
        *,
        plugin: str,
        distribution: str | None = None,
        version: str | None = None,
        hook: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.distribution = distribution
        self.version = version
        self.hook = hook
        self.reason = message
        source = f"plugin {plugin!r}"
        if distribution:
            source += f" ({distribution} {version or '?'})"
        if hook:
            source += f" in {hook}"
        super().__init__(f"{source}: {message}", hint=hint)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(plugin=self.plugin, distribution=self.distribution, version=self.version)
        if self.hook:
            data["hook"] = self.hook
        return data


class PluginConflictError(PluginError):
    """Two plugins registered the same name for the same kind of thing."""


class IncompatiblePluginError(PluginError):
    """A plugin's declared API range excludes this core, or it fails a version pin or lock."""


class NotFoundError(PodiumError):
    exit_code = ExitCode.NOT_FOUND


class NoMatchingRuleError(InputError):
    """No provisioner rule matches a resource request.

    An input error (exit 3): ``location`` is the resource in the Score file, ``field``
    its ``resources.<name>.type``.
    """


class PolicyBlockedError(PodiumError):
    exit_code = ExitCode.POLICY_BLOCKED


class LockedError(PodiumError):
    exit_code = ExitCode.LOCKED


class StalePlanError(PodiumError):
    exit_code = ExitCode.STALE_PLAN


class OwnershipError(PodiumError):
    """A plan would replace, change or delete something recorded under another owner.

    ``owner`` is the owner of the run's workloads, ``recorded_owner`` the owner in state.
    """

    exit_code = ExitCode.OWNERSHIP

    def __init__(
        self,
        message: str,
        *,
        subject: str,
        owner: str,
        recorded_owner: str,
        hint: str | None = None,
    ) -> None:
        self.subject = subject
        self.owner = owner
        self.recorded_owner = recorded_owner
        super().__init__(message, hint=hint)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(subject=self.subject, owner=self.owner, recorded_owner=self.recorded_owner)
        return data


class PlanVerificationError(PodiumError):
    """A saved plan differs from the plan its embedded sources give now (tampered or wrong env).

    Distinct from :class:`StalePlanError`: stale means state moved on since an honest plan;
    unverified means the file itself does not say what recomputing it says.
    """

    exit_code = ExitCode.UNVERIFIED_PLAN


class ApplyFailedError(PodiumError):
    """Apply finished with failed nodes; ``result`` is the ApplyResult (every node's outcome)."""

    exit_code = ExitCode.APPLY_FAILED

    def __init__(self, message: str, *, result: Any = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


class UnhealthyError(PodiumError):
    exit_code = ExitCode.UNHEALTHY


class TransientError(PodiumError):
    """Raised by a plugin for a failure worth retrying (throttling, a timeout, a busy server).

    The engine retries these with exponential backoff; any other exception fails the node.
    """


class ResourceError(PodiumError):
    """Raised by a provisioner or deployer for a permanent, explained failure."""


class StateError(PodiumError):
    """State could not be read or written, or is inconsistent."""


class LeaseLostError(StateError):
    """This run no longer holds the state's lease: it expired and was taken over, or it was
    removed. Its writes are refused (fencing) and it starts nothing more.

    ``in_flight`` names the nodes whose change may have taken effect without being recorded.
    """

    exit_code = ExitCode.LOCKED

    def __init__(
        self, message: str, *, in_flight: list[str] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.in_flight = list(in_flight or [])

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.in_flight:
            data["in_flight"] = self.in_flight
        return data


class ClosedError(StateError):
    """The platform was closed: build a new one to go on (a ``StateError``, as before)."""


class CancelledError(PodiumError):
    """The run was cancelled (``Platform.cancel()``, ``close()`` or Ctrl-C).

    Changes already running finished and were recorded; the others did not start.
    ``result`` is the :class:`~podium.engine.apply.ApplyResult` when the run had begun.
    """

    exit_code = ExitCode.CANCELLED

    def __init__(self, message: str, *, result: Any = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result
