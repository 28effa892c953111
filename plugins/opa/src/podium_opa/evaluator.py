"""One in-process Rego interpreter (regopy) holding a pack's modules.

Every check is evaluated by one query per input document: a generated module
gathers the ``deny``/``warn`` sets of each check package into one object, so a
workload costs one round trip into rego-cpp, not one per rule.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from podium.plugin import ConfigError, Location
from podium_opa.modules import RegoModule

AGGREGATE_PACKAGE = "podium_opa_internal"
#: The input documents a check can be evaluated on, and the rules each one reads.
DOCUMENTS = {
    "workload": ("deny", "warn"),
    "plan": ("deny_plan", "warn_plan"),
    "rendered": ("deny_rendered", "warn_rendered"),
}

# rego-cpp reports ``(error N:<file>|<offset>|<length> (errormsg N:<message>) ...``.
_ERROR = re.compile(
    r"\(error \d+:(?P<file>[^|]*)\|(?P<offset>\d+)\|\d+\s+\(errormsg \d+:(?P<msg>[^)\n]*)"
)


_ERROR_MESSAGE = re.compile(r"\(errormsg \d+:([^)\n]*)")


def rego_error(exc: Exception, modules: Mapping[str, RegoModule]) -> ConfigError:
    """A RegoError as a ConfigError at file:line:column when it names a module."""
    found = _ERROR.search(str(exc))
    if found is None:
        return ConfigError(f"the Rego interpreter failed: {str(exc)[:500]}")
    module = modules.get(found.group("file"))
    message = found.group("msg").strip()
    if module is None:
        return ConfigError(f"the Rego interpreter failed: {message}")
    offset = int(found.group("offset"))
    before = module.text.encode("utf-8")[:offset].decode("utf-8", errors="replace")
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return ConfigError(
        f"Rego: {message}",
        location=Location(str(module.path), line, column),
        hint="`podium policy test DIR` checks the modules and runs their tests",
    )


def aggregate_module(checks: Mapping[str, RegoModule]) -> str:
    """The generated module: per document, ``{check: {rule: set}}`` for the rules defined."""
    lines = [f"package {AGGREGATE_PACKAGE}", "", "import rego.v1", ""]
    for document, rules in DOCUMENTS.items():
        entries = []
        for name, module in sorted(checks.items()):
            present = [rule for rule in rules if rule in module.rules]
            if present:
                body = ", ".join(
                    f'"{rule.split("_")[0]}": data.{module.package}.{rule}' for rule in present
                )
                entries.append(f'  "{name}": {{{body}}},')
        lines += [f"{document} := {{", *entries, "}", ""]
    return "\n".join(lines)


class RegoEvaluator:
    """Modules compiled once into a bundle; ``evaluate`` sets the input and runs the
    document's entrypoint (a query outside a bundle recompiles everything: ~15 ms).

    regopy's interpreter keeps the input as state, so evaluations are serialised.
    """

    def __init__(self, modules: Sequence[RegoModule], data: Mapping[str, Any]) -> None:
        from regopy import Interpreter, LogLevel, RegoError

        self._lock = threading.Lock()
        self._interpreter = Interpreter()
        # rego-cpp prints errors to stdout at its default level: never in a library.
        self._interpreter.log_level = LogLevel.NONE
        by_name = {str(m.path): m for m in modules}
        self.checks = {m.check: m for m in modules if m.check is not None}
        try:
            for module in modules:
                self._interpreter.add_module(str(module.path), module.text)
            self._interpreter.add_module(f"<{AGGREGATE_PACKAGE}>", aggregate_module(self.checks))
            self._interpreter.add_data_json(json.dumps({"podium_config": dict(data)}))
            self._bundle = self._interpreter.build(
                None, [f"{AGGREGATE_PACKAGE}/{document}" for document in DOCUMENTS]
            )
        except RegoError as exc:
            raise rego_error(exc, by_name) from None
        if not self._bundle.ok():
            raise ConfigError("the Rego modules did not compile (regopy gave no reason)")

    def evaluate(self, document: str, input_document: Mapping[str, Any]) -> dict[str, Any]:
        """``{check: {"deny": [...], "warn": [...]}}`` for one input document."""
        from regopy import RegoError
        from regopy.rego_shared import (
            rego_bundle_query_entrypoint,
            rego_free_output,
            rego_output_string,
        )

        with self._lock:
            try:
                self._interpreter.set_input(dict(input_document))
                output = rego_bundle_query_entrypoint(
                    self._interpreter._impl, self._bundle._impl, f"{AGGREGATE_PACKAGE}/{document}"
                )
                try:
                    text = str(rego_output_string(output))
                finally:
                    rego_free_output(output)
            except RegoError as exc:
                raise ConfigError(f"Rego evaluation failed: {str(exc)[:500]}") from None
        value = first_expression(text)
        return value if isinstance(value, dict) else {}


def query_output(interpreter: Any, query: str) -> str:
    """A query's output as rego-cpp writes it: JSON, ``undefined`` or an error.

    Read through regopy's low-level layer: its ``Output`` class takes some errors (a
    recursive rule, say) for results and then fails to parse them as JSON.
    """
    from regopy.rego_shared import rego_free_output, rego_output_string, rego_query

    output = rego_query(interpreter._impl, query)
    try:
        return str(rego_output_string(output))
    finally:
        rego_free_output(output)


def first_expression(text: str) -> Any:
    """The first expression of rego-cpp's output text (``None`` when undefined); an
    error or output that is not JSON fails closed."""
    if text == "undefined":
        return None
    try:
        results = json.loads(text).get("expressions") or [{}]
    except (ValueError, AttributeError):
        failed = _ERROR_MESSAGE.search(text)
        if failed:
            raise ConfigError(
                f"Rego evaluation failed: {failed.group(1)}",
                hint="`podium policy test DIR` evaluates the modules with their tests",
            ) from None
        raise ConfigError(
            "the Rego engine wrote a result that is not valid JSON: a message built with "
            "sprintf from a string another builtin made (concat, a sprintf) is written "
            "unescaped by rego-cpp",
            hint="build messages from input values and literals; `podium policy test DIR` "
            "shows which check",
        ) from None
    return results[0]
