"""The port registry: which 127.0.0.1 port each workload port uses in an environment.

Ports are allocated per ``(workload, port name)`` and kept in
``<env state>/local/ports.json``. The registry is shared by the deployer (which
starts the process on the port) and the ``service-port`` and ``route``
provisioners (which need the port before that workload is deployed), so the same
name always gets the same port, across invocations, until the workload is
destroyed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from podium.plugin import EnvironmentInfo
from podium_local.files import file_lock, plugin_dir, write_atomic
from podium_local.network import free_port


class PortRegistry:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = path.with_suffix(".lock")

    @classmethod
    def for_env(cls, env: EnvironmentInfo) -> PortRegistry:
        return cls(plugin_dir(env) / "ports.json")

    # The file maps "workload" -> {"name": {"port": 41234, "number": 8080}}, where
    # "number" is the Score port (known once the workload was deployed) so that
    # routes, which name ports by number, can find the allocation.
    def _read(self) -> dict[str, dict[str, dict[str, Any]]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, dict[str, dict[str, Any]]]) -> None:
        write_atomic(self.path, json.dumps(data, indent=2, sort_keys=True), mode=0o644)

    def allocate(self, workload: str, name: str, number: int | None = None) -> int:
        """The port for ``workload``'s port ``name``, allocating one on first use."""
        with file_lock(self._lock):
            data = self._read()
            ports = data.setdefault(workload, {})
            entry = ports.get(name)
            if entry is None:
                taken = {e["port"] for w in data.values() for e in w.values()}
                entry = {"port": free_port(avoid=taken)}
                ports[name] = entry
            if number is not None and entry.get("number") != number:
                entry["number"] = number
            self._write(data)
            return int(entry["port"])

    def lookup(self, workload: str, port: str | int) -> int | None:
        """Find an allocated port by name, or by Score port number once recorded."""
        ports = self._read().get(workload, {})
        key = str(port)
        if key in ports:
            return int(ports[key]["port"])
        for entry in ports.values():
            if str(entry.get("number")) == key:
                return int(entry["port"])
        return None

    def ports_of(self, workload: str) -> dict[str, int]:
        return {name: int(e["port"]) for name, e in self._read().get(workload, {}).items()}

    def release(self, workload: str) -> None:
        with file_lock(self._lock):
            data = self._read()
            if data.pop(workload, None) is not None:
                self._write(data)
