"""The Score annotations podium-kubernetes reads (documented in the plugin's README)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from podium.plugin import ResourceError
from podium_kubernetes.settings import EnvironmentOptions

KIND = "podium.dev/kind"
SCHEDULE = "podium.dev/schedule"
REPLICAS = "podium.dev/replicas"
AUTOSCALE = "podium.dev/autoscale"
AUTOSCALE_CPU = "podium.dev/autoscale-cpu"
DISRUPTION_BUDGET = "podium.dev/disruption-budget"
OWNER = "podium.dev/owner"

KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")
#: Kinds that run continuously (scaled, guarded by a disruption budget).
SERVING_KINDS = ("Deployment", "StatefulSet")


@dataclass(frozen=True)
class WorkloadShape:
    """What the annotations (and the environment's defaults) ask for, checked."""

    kind: str
    schedule: str | None
    replicas: int
    autoscale: tuple[int, int] | None
    autoscale_cpu: int
    disruption_budget: int | str | None


def shape(name: str, annotations: Mapping[str, str], options: EnvironmentOptions) -> WorkloadShape:
    """Read and check the annotations; a wrong value raises a ResourceError naming it."""
    kind = annotations.get(KIND, "Deployment")
    if kind not in KINDS:
        raise _bad(name, KIND, kind, f"one of {', '.join(KINDS)}")
    schedule = annotations.get(SCHEDULE)
    if kind == "CronJob" and not schedule:
        raise _bad(name, SCHEDULE, "", "a cron schedule ('*/5 * * * *') for a CronJob")
    replicas = _int(name, REPLICAS, annotations.get(REPLICAS), options.replicas, minimum=0)
    autoscale_text = annotations.get(AUTOSCALE, options.autoscale)
    autoscale = _range(name, autoscale_text) if autoscale_text else None
    cpu = _int(name, AUTOSCALE_CPU, annotations.get(AUTOSCALE_CPU), 80, minimum=1)
    budget_text = annotations.get(DISRUPTION_BUDGET, options.disruption_budget)
    budget: int | str | None = None
    if budget_text:
        budget = _budget(name, budget_text)
    if kind not in SERVING_KINDS:
        for key in (AUTOSCALE, DISRUPTION_BUDGET):
            if key in annotations:
                raise ResourceError(
                    f"{name}: annotation {key} applies to Deployment and StatefulSet, "
                    f"not to a {kind}",
                    hint="remove it, or choose a serving kind with podium.dev/kind",
                )
        autoscale, budget = None, None  # environment defaults do not apply to jobs
    return WorkloadShape(kind, schedule, replicas, autoscale, cpu, budget)


def _bad(workload: str, key: str, value: str, expected: str) -> ResourceError:
    return ResourceError(
        f"{workload}: annotation {key} is {value!r}; expected {expected}",
        hint="see the podium-kubernetes page for its annotations",
    )


def _int(workload: str, key: str, text: str | None, default: int, *, minimum: int) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _bad(workload, key, text, "a whole number") from None
    if value < minimum:
        raise _bad(workload, key, text, f"at least {minimum}")
    return value


def _range(workload: str, text: str) -> tuple[int, int]:
    low, sep, high = text.partition("-")
    try:
        pair = (int(low), int(high)) if sep else (int(low), int(low))
    except ValueError:
        raise _bad(workload, AUTOSCALE, text, "'MIN-MAX' replicas, like '2-10'") from None
    if pair[0] < 1 or pair[1] < pair[0]:
        raise _bad(workload, AUTOSCALE, text, "1 <= MIN <= MAX")
    return pair


def _budget(workload: str, text: str) -> int | str:
    if text.endswith("%") and text[:-1].isdigit() and int(text[:-1]) <= 100:
        return text
    if text.isdigit():
        return int(text)
    raise _bad(workload, DISRUPTION_BUDGET, text, "a number of pods or a percentage ('50%')")
