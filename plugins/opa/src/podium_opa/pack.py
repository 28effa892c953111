"""The ``opa`` policy pack: Rego checks on workloads and plans.

A ``deny`` element is a ``mandatory`` finding, a ``warn`` element an ``advisory``
one (``[policies]`` sets any check's level per environment as for every pack). An
element is a message, or an object ``{"msg": ..., "path": [...]}`` whose ``path``
(keys into the Score document) gives the finding its file:line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from podium.plugin import Finding, PolicyPack
from podium_opa.inputs import plan_input, workload_input
from podium_opa.modules import RegoModule, checks_of

if TYPE_CHECKING:
    from podium.plugin import EnvironmentInfo, Plan, Workload
    from podium_opa.evaluator import RegoEvaluator

LEVELS: Mapping[str, Any] = {"deny": "mandatory", "warn": "advisory"}


class OpaPolicies(PolicyPack):
    name: ClassVar[str] = "opa"

    def __init__(self, modules: Sequence[RegoModule], data: Mapping[str, Any]) -> None:
        evaluated = [m for m in modules if not m.is_test]
        # Checks known without compiling: [policies] keys are checked against them.
        self.checks = tuple(sorted(checks_of(evaluated)))  # type: ignore[misc]
        self._modules = evaluated
        self._data = dict(data)
        self._evaluator: RegoEvaluator | None = None

    def _rego(self) -> RegoEvaluator:
        # Compiled on first use: commands that never check a workload never import regopy.
        if self._evaluator is None:
            from podium_opa.evaluator import RegoEvaluator

            self._evaluator = RegoEvaluator(self._modules, self._data)
        return self._evaluator

    def check_workload(self, workload: Workload, env: EnvironmentInfo) -> Iterator[Finding]:
        if not self.checks:
            return
        results = self._rego().evaluate("workload", workload_input(workload, env))
        yield from self._findings(results, subject=workload.name, workload=workload)

    def check_plan(self, plan: Plan, env: EnvironmentInfo) -> Iterator[Finding]:
        if not self.checks:
            return
        results = self._rego().evaluate("plan", plan_input(plan, env))
        yield from self._findings(results, subject=None, workload=None)

    def _findings(
        self, results: Mapping[str, Any], *, subject: str | None, workload: Workload | None
    ) -> Iterator[Finding]:
        for check in sorted(results):
            for kind in ("deny", "warn"):
                elements = results[check].get(kind) or []
                for element in sorted(elements, key=repr):
                    yield self._finding(check, kind, element, subject, workload)

    def _finding(
        self,
        check: str,
        kind: str,
        element: Any,
        subject: str | None,
        workload: Workload | None,
    ) -> Finding:
        location = None
        if isinstance(element, Mapping):
            message = str(element.get("msg") or element.get("message") or element)
            path = element.get("path")
            if workload is not None and isinstance(path, list):
                found = workload.location(*[p if isinstance(p, int) else str(p) for p in path])
                location = str(found) if found else None
            subject = str(element.get("subject") or subject or "") or None
        else:
            message = str(element)
        if location is None and workload is not None:
            found = workload.location()
            location = str(found) if found else None
        return Finding(
            f"opa.{check}", message, level=LEVELS[kind], subject=subject, location=location
        )
