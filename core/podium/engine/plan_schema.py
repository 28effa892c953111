"""The JSON Schema of a saved plan (``podium plan --out``, ``podium schema plan``).

Generated from the same type tables :meth:`Plan.from_dict` checks a file against, so
the published schema cannot drift from what Podium reads. CI tools that pass plans
between jobs (or bots that comment them) validate against it; Podium itself still
verifies a plan by recomputing it (:mod:`podium.engine.verify`), whatever the schema says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podium.engine import plan as plan_module

SCHEMA_ID = "https://podium.dev/schemas/plan.json"

_PLAN_DESCRIPTIONS = {
    "format": "Version of the plan file format.",
    "platform": "The platform ([platform].name) the plan was made for.",
    "environment": "The environment the plan applies to.",
    "serial": "The state serial the plan was computed from.",
    "created_at": "When the plan was made (ISO 8601, UTC).",
    "destroy": "The plan removes the workloads (podium plan --destroy).",
    "refresh": "The plan asked plugins what really exists (--refresh).",
    "prune": "The plan deletes workloads of these owners not in its files (--prune).",
    "scope": "The workloads the plan may touch; null for the whole environment.",
    "config_digest": "A digest of podium.toml as planned; apply refuses another.",
    "counts": "How many changes of each action.",
    "changes": "One change per node of the graph, in dependency order.",
    "findings": "Policy findings on the workloads and the plan.",
    "warnings": "Notes for the reader (runs in flight, unread params...).",
    "workloads": "The Score sources the plan was made from (name, path, source).",
    "take_over": "Names this plan takes over from another owner.",
    "allow_data_loss": "The operator consents to the data loss the plan causes.",
    "fingerprints": "Per node the plan relies on, a fingerprint of its state record.",
    "plugins": "The version of each plugin a change names (plugin name to version).",
}
_CHANGE_DESCRIPTIONS = {
    "uid": "Node id (resource:..., deployment:..., observability:...).",
    "kind": "resource, deployment or observability.",
    "action": "What apply does to the node.",
    "reason": "Why.",
    "provider": "The provisioner or deployer that makes the node.",
    "plugin": "The plugin registering the provider (comma-separated for telemetry).",
    "spec": "The desired spec; empty for deletes.",
    "depends_on": "Nodes applied before this one.",
    "workload": "The workload the node belongs to.",
    "before": "The applied spec, for display.",
    "changed": "Dotted keys of the spec that differ.",
    "redeploy": "Apply even if the spec is unchanged (found down or drifted).",
    "owner": "Who owns the node after the change.",
    "rule": "The [[rules]] entry a resource matched and why it won; null otherwise.",
    "data_loss": "A delete or replace of a resource that holds data.",
    "replaces": "A class change: the uid this create replaces.",
    "replaced_by": "A class change: the uid whose create replaces this delete.",
    "diff": "Changed attributes as {path, before, after}, secrets masked.",
}
_FINDING_DESCRIPTIONS = {
    "policy": "<pack>.<check>.",
    "message": "What is wrong.",
    "level": "advisory or mandatory (mandatory blocks apply).",
    "subject": "The workload, container or node the finding is about.",
    "location": "file:line when known.",
}


def plan_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the plan file this Podium writes and reads."""
    change = _object(plan_module._CHANGE_TYPES, _CHANGE_DESCRIPTIONS, closed=True)
    change["properties"]["action"] = {
        "enum": list(plan_module.ACTIONS),
        "description": _CHANGE_DESCRIPTIONS["action"],
    }
    change["properties"]["diff"]["items"] = {
        "type": "object",
        "required": ["path"],
        "properties": {"path": {"type": "string"}, "before": {}, "after": {}},
    }
    finding = _object(plan_module._FINDING_TYPES, _FINDING_DESCRIPTIONS, closed=True)
    finding["properties"]["level"] = {
        "enum": ["advisory", "mandatory"],
        "description": _FINDING_DESCRIPTIONS["level"],
    }
    schema = _object(plan_module._PLAN_TYPES, _PLAN_DESCRIPTIONS, closed=False)
    props = schema["properties"]
    props["format"] = {
        "enum": list(plan_module.READ_FORMATS),
        "description": _PLAN_DESCRIPTIONS["format"],
    }
    props["counts"] = {
        "type": "object",
        "properties": {a: {"type": "integer", "minimum": 0} for a in plan_module.ACTIONS},
        "description": _PLAN_DESCRIPTIONS["counts"],
    }
    props["changes"]["items"] = {"$ref": "#/$defs/change"}
    props["findings"]["items"] = {"$ref": "#/$defs/finding"}
    props["workloads"]["items"] = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "path": {"type": "string"},
            "source": {"type": "string"},
        },
        "additionalProperties": {"type": ["string", "null"]},
    }
    for key in ("warnings", "take_over", "scope"):
        props[key]["items"] = {"type": "string"}
    for key in ("fingerprints", "plugins"):
        props[key]["additionalProperties"] = {"type": "string"}
    schema["required"] = ["format", *schema["required"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Podium plan",
        "description": "A plan saved by 'podium plan --out FILE' (format "
        f"{plan_module.PLAN_FORMAT}); 'podium apply FILE' verifies it by recomputing it.",
        **schema,
        "$defs": {"change": change, "finding": finding},
    }


_JSON_TYPES = {
    str: "string",
    int: "integer",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _object(
    types: Mapping[str, tuple[type, ...]], descriptions: Mapping[str, str], *, closed: bool
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key, allowed in types.items():
        names = [_JSON_TYPES[t] for t in allowed]
        properties[key] = {
            "type": names[0] if len(names) == 1 else names,
            "description": descriptions.get(key, ""),
        }
    required = [key for key in types if key in plan_module._REQUIRED]
    result: dict[str, Any] = {"type": "object", "required": required, "properties": properties}
    if closed:
        result["additionalProperties"] = False
    return result
