"""Platform domain: lifecycle, state backends and CLI commands."""

from podium.platform.context import EnvironmentInfo, PlatformInfo
from podium.platform.contract import (
    CliCommand,
    Intent,
    IntentOutcome,
    LockInfo,
    ResourceRecord,
    StateBackend,
    StateStore,
    TransactionalStateStore,
)

__all__ = [
    "CliCommand",
    "EnvironmentInfo",
    "Intent",
    "IntentOutcome",
    "LockInfo",
    "PlatformInfo",
    "ResourceRecord",
    "StateBackend",
    "StateStore",
    "TransactionalStateStore",
]
