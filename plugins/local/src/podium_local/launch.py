"""The launcher supervisord runs for every container: ``python -m podium_local.launch SPEC``.

Why a launcher instead of putting the command straight into supervisord's
config: supervisord would have to write the container's environment, secrets
included, into its config file. The spec file (mode 0600) holds secret values
only sealed; the launcher unseals them in memory, writes secret-bearing files
(mode 0600), and then replaces itself with the real command (``execvpe``), so
supervisord signals and watches the application directly.

It also implements restart backoff for crash loops: supervisord restarts a
process that ran longer than ``startsecs`` at once, so when the previous start
was recent the launcher waits ``base * 2**n`` seconds (capped) before exec.
supervisord counts that wait as running, so the starts file records the
launcher's pid and when the command itself started (``started_at``, ``null``
while waiting): the deployer never calls a launcher that is still waiting ready.

With a liveness probe the launcher stays as a thin parent instead of exec-ing:
it runs the probe periodically and kills the application after repeated
failures, exiting non-zero so that supervisord restarts it.

When the spec names a user (``run_as``: podium runs as root, see
:mod:`podium_local.isolation`), the launcher does everything that needs root
first (unsealing, secret files, entering the working directory) and then drops
to that user for good before running anything of the workload's. The process
then inherits only harmless variables of the operator's environment (locale,
time zone), never the operator's credentials.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from podium.plugin import process_start_time

LIVENESS_PERIOD = 5.0
LIVENESS_FAILURES = 3


def load_spec(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(path.read_text())
    return spec


def build_env(spec: dict[str, Any]) -> dict[str, str]:
    """The process environment: supervisord's, then PATH, then the container's variables."""
    from podium_local.rootfs import INHERITED
    from podium_local.sealing import Sealer

    isolated = bool(spec.get("run_as"))
    # Never hand the operator's podium settings (PODIUM_STATE_KEY...) to a workload.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SUPERVISOR_", "PODIUM_")) and (not isolated or INHERITED.fullmatch(k))
    }
    if spec.get("path"):
        env["PATH"] = spec["path"]
    env.update(spec.get("env", {}))
    sealed = spec.get("sealed_env", {})
    if sealed:
        sealer = Sealer(Path(spec["seal_key"]))
        env.update({k: sealer.unseal(v).reveal() for k, v in sealed.items()})
    return env


def secret_values(spec: dict[str, Any]) -> list[str]:
    """The plaintext of the spec's secrets, to mask them in what the app printed."""
    from podium_local.sealing import Sealer

    tokens = [*spec.get("sealed_env", {}).values()]
    tokens += [item["sealed"] for item in spec.get("sealed_files", [])]
    if not tokens:
        return []
    sealer = Sealer(Path(spec["seal_key"]))
    return [sealer.unseal(token).reveal() for token in tokens]


def write_secret_files(spec: dict[str, Any]) -> None:
    files = spec.get("sealed_files", [])
    if not files:
        return
    from podium_local.rootfs import RunAs, write_in_root
    from podium_local.sealing import Sealer

    sealer = Sealer(Path(spec["seal_key"]))
    who = RunAs.from_dict(spec.get("run_as"))
    root = Path(spec["env"]["PODIUM_ROOT"])
    for item in files:
        target = Path(item["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        content = sealer.unseal(item["sealed"]).reveal()
        data = base64.b64decode(content) if item.get("binary") else content.encode()
        write_in_root(root, target, data, 0o600, who, private=True)


def drop_privileges(spec: dict[str, Any]) -> None:
    """Become the workload's user for good (no way back: real, effective and saved ids)."""
    from podium_local.rootfs import RunAs, unreachable_part

    who = RunAs.from_dict(spec.get("run_as"))
    if who is None:
        return
    blocked = unreachable_part(Path(spec["cwd"]))
    if blocked:
        print(
            f"podium-local: the workload runs as user {who.user}, who cannot pass {blocked}: "
            f"files under {spec['cwd']} named by absolute path cannot be opened",
            file=sys.stderr,
            flush=True,
        )
    os.setgroups([])
    os.setresgid(who.gid, who.gid, who.gid)
    os.setresuid(who.uid, who.uid, who.uid)
    if os.geteuid() != who.uid or os.getegid() != who.gid:
        raise SystemExit(f"podium-local: could not become user {who.user}")


def unusable(command: list[str], env: dict[str, str]) -> str | None:
    """What ``exec`` cannot pass (NUL bytes); the deployer refuses them, an old spec may not."""
    if any("\x00" in part for part in command):
        return "the command contains a NUL byte"
    for key, value in env.items():
        if "\x00" in key or "\x00" in value or "=" in key or not key:
            return f"variable {key!r} cannot be passed to a process"
    return None


def read_starts(path: Path) -> dict[str, Any]:
    """The starts file: ``starts``, ``streak``, ``last``, ``pid`` (with ``pid_start``) and
    ``started_at``; empty when there is none."""
    try:
        state = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_starts(path: Path, state: dict[str, Any]) -> None:
    # Replaced whole, so the deployer never reads half a file.
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(state))
    os.replace(temporary, path)


def backoff(spec: dict[str, Any]) -> dict[str, Any]:
    """Sleep before a quick restart; record this start (the count feeds ``restarts``)."""
    settings = spec.get("backoff") or {}
    state_path = Path(spec["starts_file"])
    state = read_starts(state_path) or {"starts": 0, "streak": 0, "last": 0.0}
    now = time.time()
    quick = now - float(state.get("last", 0.0)) < float(settings.get("window", 10.0))
    streak = int(state.get("streak", 0)) + 1 if quick and state.get("starts") else 0
    state.update(
        starts=int(state.get("starts", 0)) + 1,
        streak=streak,
        last=now,
        pid=os.getpid(),
        pid_start=process_start_time(os.getpid()),
        started_at=None,
    )
    write_starts(state_path, state)
    if streak:
        delay = min(
            float(settings.get("max", 30.0)), float(settings.get("base", 1.0)) * 2 ** (streak - 1)
        )
        print(
            f"podium-local: restarting after a quick exit; waiting {delay:g}s",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(delay)
    return state


def mark_started(spec: dict[str, Any], state: dict[str, Any]) -> None:
    """Record that the command itself starts now (the backoff wait is over)."""
    state["started_at"] = time.time()
    write_starts(Path(spec["starts_file"]), state)


def supervise_liveness(argv: list[str], env: dict[str, str], spec: dict[str, Any]) -> int:
    from podium_local.probes import run_probe

    child = subprocess.Popen(argv, env=env)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    probe = spec["liveness"]
    timeout = float(spec.get("probe_timeout", 2.0))
    grace = time.monotonic() + float(spec.get("liveness_grace", 30.0))
    seen_healthy = False
    failures = 0
    while True:
        try:
            return child.wait(timeout=LIVENESS_PERIOD)
        except subprocess.TimeoutExpired:
            pass
        ok, message = run_probe(probe, timeout=timeout, env=env, cwd=spec.get("cwd"))
        seen_healthy = seen_healthy or ok
        failures = 0 if ok else failures + 1
        # Count failures only once the process was healthy or its start-up grace ran out.
        if failures >= LIVENESS_FAILURES and (seen_healthy or time.monotonic() > grace):
            print(
                f"podium-local: liveness probe failed {failures} times: {message}; restarting",
                file=sys.stderr,
                flush=True,
            )
            child.terminate()
            try:
                child.wait(timeout=float(spec.get("stop_timeout", 10)))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m podium_local.launch SPEC_FILE", file=sys.stderr)
        return 2
    spec = load_spec(Path(args[0]))
    starts = backoff(spec)
    env = build_env(spec)
    command: list[str] = spec["argv"]
    problem = unusable(command, env)
    if problem:
        print(f"podium-local: cannot start: {problem}", file=sys.stderr, flush=True)
        return 126
    write_secret_files(spec)
    os.chdir(spec["cwd"])  # as root: the directory's parents need not be open to the user
    mark_started(spec, starts)  # in specs/, closed to the workload's user
    drop_privileges(spec)
    if spec.get("liveness"):
        return supervise_liveness(command, env, spec)
    try:
        os.execvpe(command[0], command, env)
    except OSError as exc:
        print(
            f"podium-local: cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr, flush=True
        )
        return 127


if __name__ == "__main__":
    raise SystemExit(main())
