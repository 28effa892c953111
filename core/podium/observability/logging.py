"""Podium's logs: structlog as the front end, stdlib :mod:`logging` as the only way out.

Library code only calls :func:`get_logger`. Each logger is a structlog logger of its own
(never the process-wide structlog configuration) that adds plugin attribution, redacts
secrets and hands the record to the stdlib logger of the same name: ``podium.*`` for the
core. The ``podium`` logger has a :class:`logging.NullHandler`, so a host that configures
no logging sees nothing, and one that does receives Podium's records like any library's.
Nothing is printed by the library. The ``podium`` command renders records on stderr
through :func:`configure_cli_logging`.

A record carries the structured fields in ``record.podium_event`` (the event text) and
``record.podium_fields`` (a dict: plugin, distribution, version, hook, and the call's
keyword arguments); its message is the event followed by ``key=value`` pairs.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

from podium.plugins.calls import current_hook_call
from podium.security.secret import redact

#: the logger every record of the core goes through (``podium.platform``, ``podium.plugins``...)
LOGGER_NAME = "podium"
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


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


_STDLIB_KEYWORDS = ("exc_info", "stack_info")


def _to_stdlib(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Last processor: the arguments of the stdlib logger call that carries the event."""
    event = str(event_dict.pop("event", ""))
    keywords = {k: event_dict.pop(k) for k in _STDLIB_KEYWORDS if k in event_dict}
    fields = dict(event_dict)
    text = " ".join([event, *(f"{k}={v!r}" for k, v in fields.items())])
    return (text,), {**keywords, "extra": {"podium_event": event, "podium_fields": fields}}


class _LazyLogger:
    """Imports structlog on the first log call, not when a module asks for a logger."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            import structlog

            _apply_structlog_config()
            self._logger = structlog.wrap_logger(
                logging.getLogger(self._name),
                processors=[
                    structlog.stdlib.filter_by_level,
                    structlog.contextvars.merge_contextvars,
                    merge_hook_context,
                    redact_secrets,
                    _to_stdlib,
                ],
                wrapper_class=structlog.stdlib.BoundLogger,
                cache_logger_on_first_use=True,
            )
        return getattr(self._logger, method)


def get_logger(name: str) -> Any:
    """A structlog-style logger writing to ``logging.getLogger(name)``; structlog loads at the first call."""
    return _LazyLogger(name)


# ----------------------------------------------------------------------------- the CLI
# Everything below is for the ``podium`` command, which owns its process: it renders log
# records on stderr. Library code never calls it.

_cli_handler: logging.Handler | None = None
_pending_structlog_config: tuple[bool, bool] | None = None


def configure_cli_logging(debug: bool = False, json: bool = False) -> None:
    """Render log records on stderr for the ``podium`` command: warnings, or everything with ``debug``.

    Podium's records (and plugins' through :func:`get_logger`) are rendered as structlog
    renders them (console, or JSON lines with ``json``); other libraries' warnings as their
    message, as Python prints them by default. The process-wide structlog configuration is
    set too (the command owns its process), so plugins that log through structlog directly
    render the same way; structlog is imported only when something logs.
    """
    global _cli_handler, _pending_structlog_config
    root = logging.getLogger()
    if _cli_handler is not None:
        root.removeHandler(_cli_handler)
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(_CliFormatter(json))
    handler.addFilter(_CliLevels(logging.DEBUG if debug else logging.WARNING))
    root.addHandler(handler)
    _cli_handler = handler
    if debug:
        root.setLevel(logging.DEBUG)
    _pending_structlog_config = (debug, json)
    if "structlog" in sys.modules:
        _apply_structlog_config()


class _CliLevels(logging.Filter):
    """Podium's records from ``threshold`` up; other libraries' from WARNING, as by default."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        ours = hasattr(record, "podium_event")
        return record.levelno >= (self.threshold if ours else logging.WARNING)


class _CliFormatter(logging.Formatter):
    """Renders a Podium record with structlog's console or JSON renderer."""

    def __init__(self, json: bool) -> None:
        super().__init__()
        self._json = json
        self._render: Any = None

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "podium_event"):
            return super().format(record)
        if self._render is None:
            self._render = _renderer(self._json)
        fields: dict[str, Any] = getattr(record, "podium_fields", {})
        # The key order structlog's own pipeline gave (JSON lines stay as they were).
        event_dict: dict[str, Any] = {
            "logger": record.name,
            **fields,
            "event": getattr(record, "podium_event", ""),
            "level": record.levelname.lower(),
        }
        if record.exc_info:
            event_dict["exc_info"] = record.exc_info
        return str(self._render(event_dict))


def _colour() -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set to anything (https://no-color.org)."""
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


def _renderer(json: bool) -> Any:
    import structlog

    chain = [
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if json else None,
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=_colour()),
    ]

    def render(event_dict: dict[str, Any]) -> Any:
        value: Any = event_dict
        for processor in chain:
            if processor is not None:
                value = processor(None, "", value)
        return value

    return render


def _apply_structlog_config() -> None:
    global _pending_structlog_config
    if _pending_structlog_config is None:
        return
    debug, json = _pending_structlog_config
    _pending_structlog_config = None
    import structlog

    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=_colour())
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
