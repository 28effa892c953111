"""Score ``resources`` (``limits``, ``requests``) as Podman's cgroup limits.

Quantities use Kubernetes' syntax (``500m``, ``0.5``, ``128Mi``, ``1G``), parsed by
lightkube's maintained parser. Limits are hard: ``memory`` caps the container's
memory, ``cpu`` its CPU time (a quota per 100 ms period, what ``podman run --cpus``
sets). Requests are what the container should get when the host is busy: a memory
reservation (a soft limit) and CPU shares (1024 per CPU, Docker's convention).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

#: The CPU period the quota is measured against (what ``--cpus`` uses), in microseconds.
CPU_PERIOD = 100_000
#: Podman's smallest memory limit (and cgroups' smallest CPU quota, 1 ms).
MIN_MEMORY = 6 * 1024 * 1024
MIN_CPU = Decimal("0.01")


class QuantityError(ValueError):
    """A Score resource quantity Podman cannot apply; the message names the field.

    ``path`` is where it is under the container's ``resources`` (``("limits", "cpu")``).
    """

    def __init__(self, message: str, path: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


def _path(field: str) -> tuple[str, ...]:
    """``w.containers.c.resources.limits.cpu`` -> ``("limits", "cpu")``."""
    return tuple(field.rsplit(".resources.", 1)[-1].split(".")) if ".resources." in field else ()


def _parse(value: object, field: str) -> Decimal:
    from lightkube.utils.quantity import parse_quantity

    text = str(value).strip()
    try:
        parsed = parse_quantity(text)
    except (ValueError, ArithmeticError):
        parsed = None
    if parsed is None or not parsed.is_finite():
        raise QuantityError(f"{field}: {value!r} is not a quantity", _path(field))
    if parsed <= 0:
        raise QuantityError(f"{field}: {value!r} must be more than zero", _path(field))
    return parsed


def memory_bytes(value: object, field: str) -> int:
    """``128Mi``, ``1G``, ``1.5Gi`` -> bytes (whole bytes, rounded up)."""
    parsed = _parse(value, field)
    if parsed < MIN_MEMORY:
        raise QuantityError(
            f"{field}: {value!r} is below Podman's smallest memory limit (6Mi); "
            "memory quantities are bytes with a unit, like 128Mi or 1G",
            _path(field),
        )
    return int(parsed.to_integral_value(rounding=ROUND_CEILING))


def cpu_cores(value: object, field: str) -> Decimal:
    """``500m``, ``0.5``, ``2`` -> CPUs."""
    parsed = _parse(value, field)
    if parsed < MIN_CPU:
        raise QuantityError(
            f"{field}: {value!r} is below the smallest CPU limit (10m)", _path(field)
        )
    return parsed


def resource_limits(limits: dict[str, str], requests: dict[str, str], where: str) -> dict[str, Any]:
    """libpod's ``resource_limits`` for a container's Score resources (empty: none given).

    ``where`` names the container (``workload.containers.name``) in errors.
    """
    for kind, given in (("limits", limits), ("requests", requests)):
        unknown = sorted(set(given) - {"cpu", "memory"})
        if unknown:
            raise QuantityError(
                f"{where}.resources.{kind}: {', '.join(unknown)} is not a resource Podman "
                "limits (cpu, memory)",
                (kind,),
            )
    memory: dict[str, int] = {}
    cpu: dict[str, int] = {}
    if "memory" in limits:
        memory["limit"] = memory_bytes(limits["memory"], f"{where}.resources.limits.memory")
    if "memory" in requests:
        reservation = memory_bytes(requests["memory"], f"{where}.resources.requests.memory")
        if "limit" in memory and reservation > memory["limit"]:
            raise QuantityError(
                f"{where}.resources: requests.memory {requests['memory']!r} is more than "
                f"limits.memory {limits['memory']!r}",
                ("requests", "memory"),
            )
        memory["reservation"] = reservation
    if "cpu" in limits:
        cores = cpu_cores(limits["cpu"], f"{where}.resources.limits.cpu")
        cpu["quota"] = int((cores * CPU_PERIOD).to_integral_value(rounding=ROUND_CEILING))
        cpu["period"] = CPU_PERIOD
    if "cpu" in requests:
        cores = cpu_cores(requests["cpu"], f"{where}.resources.requests.cpu")
        cpu["shares"] = max(2, int((cores * 1024).to_integral_value(rounding=ROUND_CEILING)))
    result: dict[str, Any] = {}
    if memory:
        result["memory"] = memory
    if cpu:
        result["cpu"] = cpu
    return result
