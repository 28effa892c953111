"""Reading rollout status from Kubernetes objects (plain dicts, as the API returns them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from podium.plugin import ContainerStatus


def rollout_state(obj: Mapping[str, Any]) -> tuple[str, str]:
    """``(state, message)`` of a workload object: ``ready``, ``partial``, ``down`` or ``failed``.

    A Deployment or StatefulSet is ready once the controller saw the latest spec and
    every wanted replica is updated and available; ``failed`` when the Deployment's
    progress deadline passed. A Job is ready when it succeeded, ``failed`` when its
    ``Failed`` condition is true; a CronJob is ready once created.
    """
    kind = obj.get("kind")
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if kind == "CronJob":
        return "ready", "scheduled"
    if kind == "Job":
        if _true(conditions.get("Failed")):
            return "failed", str(conditions["Failed"].get("message") or "job failed")
        if _true(conditions.get("Complete")) or (status.get("succeeded") or 0) > 0:
            return "ready", "completed"
        return ("partial", "running") if status.get("active") else ("down", "not started")
    if generation is not None and (observed is None or observed < generation):
        return "partial", "the controller has not seen the new spec yet"
    progressing = conditions.get("Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return "failed", str(progressing.get("message") or "progress deadline exceeded")
    wanted = spec.get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    available = status.get("availableReplicas", status.get("readyReplicas")) or 0
    if kind == "StatefulSet" and status.get("updateRevision") != status.get("currentRevision"):
        return "partial", f"{updated}/{wanted} replicas updated"
    if updated >= wanted and available >= wanted:
        return "ready", f"{available}/{wanted} replicas available"
    if available > 0:
        return "partial", f"{available}/{wanted} replicas available, {updated} updated"
    return "down", f"0/{wanted} replicas available"


def _true(condition: Mapping[str, Any] | None) -> bool:
    return bool(condition) and str(condition.get("status")) == "True"  # type: ignore[union-attr]


def container_states(
    pods: Sequence[Mapping[str, Any]], names: list[str]
) -> dict[str, ContainerStatus]:
    """Each container's health across the workload's pods: ready when ready in all of them."""
    result: dict[str, ContainerStatus] = {}
    for name in names:
        statuses = [
            s
            for pod in pods
            for s in (pod.get("status") or {}).get("containerStatuses") or []
            if s.get("name") == name
        ]
        if not statuses:
            result[name] = ContainerStatus(
                state="absent" if not pods else "down", message="no container yet"
            )
            continue
        restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
        ready = [s for s in statuses if s.get("ready")]
        waiting = [
            str((s.get("state") or {}).get("waiting", {}).get("reason") or "")
            for s in statuses
            if "waiting" in (s.get("state") or {})
        ]
        if len(ready) == len(statuses):
            result[name] = ContainerStatus(
                state="ready", message=f"{len(ready)} ready", restarts=restarts
            )
        else:
            why = ", ".join(sorted({w for w in waiting if w})) or "not ready"
            result[name] = ContainerStatus(
                state="down" if not ready else "partial",
                message=f"{len(ready)}/{len(statuses)} ready: {why}",
                restarts=restarts,
            )
    return result
