"""Each environment's workloads run as an unprivileged user of their own when podium is root.

Confining what a Score file may *say* means little if its ``command`` runs as
root: it could read the platform's key, ``/etc/shadow`` or the database files.
So when podium runs as root, podium-local runs every process of an environment
as a system user named after the platform and environment (``podium-<platform>-
<env>-<hash>``), created on demand with ``useradd --system``. The launcher
unseals secrets while still root and then drops to that user before ``exec``
(see :mod:`podium_local.launch`); exec probes drop the same way.

What the user must reach cannot live in the state directory, which is private
to root (0700): container roots, volumes and a home directory live in a
*runtime directory*, ``/var/lib/podium-local/<platform>-<env>-<hash>`` (only
root may create names under ``/var/lib``, so nobody can plant it). Container
roots and the files podium writes there are root's (readable, not writable, so
the workload cannot plant a symlink root would later write through); volumes
and the home directory belong to the workload's user.

Without root nothing changes: processes run as the invoking user, the runtime
directory is the plugin's own state directory, and podium-local is
single-tenant (every workload can read what that user can).
"""

from __future__ import annotations

import contextlib
import hashlib
import pwd
import re
import shutil
from pathlib import Path

from podium.plugin import EnvironmentInfo, ResourceError
from podium_local.files import file_lock, plugin_dir
from podium_local.rootfs import RunAs
from podium_local.servers.process import run, running_as_root
from podium_local.servers.safe_dirs import give_to, owned_dir, set_mode
from podium_local.settings import Settings

RUNTIME_BASE = Path("/var/lib/podium-local")


def _slug(env: EnvironmentInfo, room: int) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", f"{env.platform}-{env.environment}".lower()).strip("-")
    return text[:room].strip("-")


def user_name(env: EnvironmentInfo) -> str:
    """``podium-<platform>-<env>-<hash>``, at most 32 characters (useradd's limit)."""
    digest = hashlib.sha256(f"{env.platform}/{env.environment}".encode()).hexdigest()[:6]
    return f"podium-{_slug(env, 18)}-{digest}"


def runtime_dir(env: EnvironmentInfo) -> Path:
    """Where files the workloads use live (see the module docstring); not created here."""
    if not running_as_root():
        return plugin_dir(env)
    digest = hashlib.sha256(str(env.state_dir.resolve()).encode()).hexdigest()[:12]
    return RUNTIME_BASE / f"{_slug(env, 40)}-{digest}"


def ensure_runtime_dir(env: EnvironmentInfo) -> Path:
    """Create the runtime directory: root's, others may traverse but not list (0711)."""
    path = runtime_dir(env)
    if not running_as_root():
        path.mkdir(parents=True, exist_ok=True)
        return path
    for directory in (RUNTIME_BASE, path):
        owned_dir(directory, 0o711)
        set_mode(directory, 0o711)
    return path


def prune_runtime_dir(env: EnvironmentInfo) -> None:
    """Remove the runtime directory once no workload or volume uses it."""
    if not running_as_root():
        return
    path = runtime_dir(env)
    for part in ("workloads", "volumes"):
        try:
            (path / part).rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            return  # not empty: still in use
    shutil.rmtree(path / "home", ignore_errors=True)
    with contextlib.suppress(OSError):
        path.rmdir()


def _ensure_user(name: str) -> pwd.struct_passwd:
    # Workloads deploy in parallel threads and processes; two useradd runs for one
    # name can leave them with different ids, so creation is serialised.
    owned_dir(RUNTIME_BASE, 0o711)
    with file_lock(RUNTIME_BASE / ".users.lock"):
        return _create_user(name)


def _create_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        raise ResourceError(
            f"cannot create the user {name!r} that this environment's workloads run as: "
            "useradd is not installed",
            hint="install the passwd package, or set [plugins.local] workload_user",
        )
    failure: ResourceError | None = None
    try:
        run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--comment",
                "podium-local workloads",
                name,
            ],
            f"creating the workload user {name}",
        )
    except ResourceError as exc:
        failure = exc  # or another podium process created it meanwhile: checked just below
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise failure or ResourceError(f"the workload user {name!r} could not be created") from None


def run_as(env: EnvironmentInfo, settings: Settings) -> RunAs | None:
    """The user this environment's workloads run as, created on demand; ``None`` = ours."""
    if not running_as_root() or settings.workload_user == "root":
        return None
    if settings.workload_user:
        try:
            entry = pwd.getpwnam(settings.workload_user)
        except KeyError:
            raise ResourceError(
                f"[plugins.local] workload_user {settings.workload_user!r} does not exist"
            ) from None
    else:
        entry = _ensure_user(user_name(env))
    if entry.pw_uid == 0:
        return None
    home = ensure_runtime_dir(env) / "home"
    owned_dir(home, 0o700, owners=[entry.pw_uid])
    give_to(home, entry.pw_name)
    return RunAs(user=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid, home=str(home))
