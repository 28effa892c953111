"""structlog integration: hook attribution on every log event, and the CLI's log setup.

Library code only calls :func:`get_logger`; how events are rendered is the
host application's choice. The CLI calls :func:`configure_cli_logging` once.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from typing import Any

from podium.plugins.calls import current_hook_call
from podium.security.secret import redact


def merge_hook_context(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: add plugin, distribution, version and hook inside plugin calls."""
    call = current_hook_call.get()
    if call is not None:
        event_dict.setdefault("plugin", call.plugin)
        event_dict.setdefault("hook", call.hook)
        if call.distribution is not None:
            event_dict.setdefault("distribution", call.distribution)
        if call.version is not None:
            event_dict.setdefault("version", call.version)
    return event_dict


def redact_secrets(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace any :class:`~podium.Secret` value by ``(sensitive)``."""
    for key, value in list(event_dict.items()):
        event_dict[key] = redact(value)
    return event_dict


_pending_cli_config: tuple[bool, bool] | None = None


def configure_cli_logging(debug: bool = False, json: bool = False) -> None:
    """Configure structlog for the ``podium`` command: stderr, warnings unless ``debug``.

    Only the CLI calls this; embedding applications configure structlog themselves
    and add :func:`merge_hook_context` to their processors to get plugin attribution.
    structlog is imported (it costs a noticeable part of start-up) only when
    something is actually logged, so the setup is applied then.
    """
    global _pending_cli_config
    _pending_cli_config = (debug, json)
    if "structlog" in sys.modules:
        _apply_cli_config()


def _apply_cli_config() -> None:
    global _pending_cli_config
    if _pending_cli_config is None:
        return
    debug, json = _pending_cli_config
    _pending_cli_config = None
    import logging

    import structlog

    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            merge_hook_context,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if debug else logging.WARNING
        ),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at write time (test runners and pagers swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _LazyLogger:
    """Imports structlog on the first log call, not when a module asks for a logger."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            import structlog

            _apply_cli_config()
            self._logger = structlog.get_logger(self._name).bind(logger=self._name)
        return getattr(self._logger, method)


def get_logger(name: str) -> Any:
    """A structlog logger bound to ``logger=name``; structlog loads at the first log call."""
    return _LazyLogger(name)
