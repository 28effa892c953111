"""KV version 2 reads and writes: the one place that knows the engine's API shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium.plugin import NotFoundError, ResourceError, Secret
from podium_openbao.client import OpenBao


@dataclass(frozen=True)
class Stored:
    """One KV v2 secret's current version: its fields (values are Secrets)."""

    fields: dict[str, Secret]
    version: int
    created: str  #: the current version's created_time: OpenBao's id of this value


class Kv:
    """KV v2 under one mount."""

    def __init__(self, bao: OpenBao, mount: str) -> None:
        self._bao = bao
        self.mount = mount

    def read(self, path: str) -> Stored | None:
        """The current version of ``path``; ``None`` when missing or deleted."""
        try:
            with self._bao.call(f"read {self.mount}/{path}") as client:
                answer = client.secrets.kv.v2.read_secret_version(
                    path=path, mount_point=self.mount, raise_on_deleted_version=True
                )
        except NotFoundError:
            return None
        data = answer["data"]
        meta = data.get("metadata") or {}
        if meta.get("deletion_time") or meta.get("destroyed") or data.get("data") is None:
            return None
        fields = {str(k): Secret(_text(v)) for k, v in (data.get("data") or {}).items()}
        return Stored(fields, int(meta.get("version") or 0), str(meta.get("created_time") or ""))

    def metadata(self, path: str) -> tuple[int, str] | None:
        """``(current version, its created_time)`` without reading the value."""
        try:
            with self._bao.call(f"read metadata of {self.mount}/{path}") as client:
                answer = client.secrets.kv.v2.read_secret_metadata(
                    path=path, mount_point=self.mount
                )
        except NotFoundError:
            return None
        meta = answer["data"]
        version = int(meta.get("current_version") or 0)
        current = (meta.get("versions") or {}).get(str(version)) or {}
        if not version or current.get("deletion_time") or current.get("destroyed"):
            return None
        return version, str(current.get("created_time") or "")

    def write(self, path: str, fields: dict[str, Secret]) -> int:
        """Write a new version; returns its number."""
        data = {k: v.reveal() for k, v in fields.items()}
        with self._bao.call(f"write {self.mount}/{path}") as client:
            answer = client.secrets.kv.v2.create_or_update_secret(
                path=path, secret=data, mount_point=self.mount
            )
        return int((answer.get("data") or {}).get("version") or 0)

    def destroy(self, path: str) -> None:
        """Delete every version and the metadata (a missing path is fine)."""
        try:
            with self._bao.call(f"delete {self.mount}/{path}") as client:
                client.secrets.kv.v2.delete_metadata_and_all_versions(
                    path=path, mount_point=self.mount
                )
        except NotFoundError:
            return

    def keys(self, folder: str) -> list[str]:
        """Every secret path under ``folder`` (recursively), relative to it, sorted."""
        found: list[str] = []
        pending = [""]
        while pending:
            sub = pending.pop()
            try:
                with self._bao.call(f"list {self.mount}/{folder}{sub}") as client:
                    answer = client.secrets.kv.v2.list_secrets(
                        path=f"{folder}{sub}", mount_point=self.mount
                    )
            except NotFoundError:
                continue
            for name in answer["data"].get("keys") or []:
                if name.endswith("/"):
                    pending.append(f"{sub}{name}")
                else:
                    found.append(f"{sub}{name}")
        return sorted(found)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, sort_keys=True)


def field_of(stored: Stored, field: str, where: str) -> Secret:
    try:
        return stored.fields[field]
    except KeyError:
        raise ResourceError(
            f"OpenBao secret {where} has no field {field!r}",
            hint=f"its fields are: {', '.join(sorted(stored.fields)) or 'none'}",
        ) from None
