"""The input documents Rego checks see (their JSON Schema is ``input.schema.json``).

* workload: ``{"kind": "workload", "environment": {...}, "workload": <Score document>}``
* plan: ``{"kind": "plan", "environment": {...}, "plan": {"destroy", "counts", "changes"}}``

Literal values of variables whose names say they are secret are masked: a check
needs to know a literal is there, never what it is, and a finding's message must not
be able to quote it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from podium.plugin import literal_secret

if TYPE_CHECKING:
    from podium.plugin import EnvironmentInfo, Plan, Workload

MASK = "<literal value masked>"


def environment_document(env: EnvironmentInfo) -> dict[str, Any]:
    return {
        "platform": env.platform,
        "name": env.environment,
        "tier": env.tier,
        "protect_data": env.protect_data,
    }


def workload_input(workload: Workload, env: EnvironmentInfo) -> dict[str, Any]:
    spec = copy.deepcopy(workload.spec)
    for container in (spec.get("containers") or {}).values():
        if not isinstance(container, dict):
            continue
        variables = container.get("variables")
        if not isinstance(variables, dict):
            continue
        for key, value in variables.items():
            if literal_secret(str(key), value):
                variables[key] = MASK
    return {"kind": "workload", "environment": environment_document(env), "workload": spec}


def plan_input(plan: Plan, env: EnvironmentInfo) -> dict[str, Any]:
    data = plan.to_dict()  # secret values are redacted by the plan itself
    return {
        "kind": "plan",
        "environment": environment_document(env),
        "plan": {
            "destroy": data["destroy"],
            "counts": data["counts"],
            "changes": [
                {key: change.get(key) for key in CHANGE_KEYS} for change in data["changes"]
            ],
        },
    }


#: What a check sees of each planned change (the saved plan's fields, minus the
#: internals a recomputation needs).
CHANGE_KEYS = (
    "uid",
    "action",
    "kind",
    "provider",
    "reason",
    "workload",
    "owner",
    "data_loss",
    "changed",
    "diff",
    "replaces",
    "replaced_by",
)
