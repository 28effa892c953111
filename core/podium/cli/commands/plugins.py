"""``podium plugins list|info|lock``, ``podium doctor`` and the ``podium plugin`` group."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from podium.cli.context import CliState, get_state
from podium.cli.options import env_option, json_option
from podium.errors import ExitCode, PodiumError

if TYPE_CHECKING:
    from podium.config.models import PlatformConfig
    from podium.plugins.manager import PluginInfo, PluginManager


def _setup(ctx: click.Context) -> CliState:
    from podium.observability.logging import configure_cli_logging

    state = get_state(ctx)
    configure_cli_logging(debug=state.debug, json=state.json_output)
    return state


def _lock_path(state: CliState) -> Path:
    config = state.resolved_config_path()
    return (config.parent if config is not None else Path.cwd()) / "podium.lock"


def _read_config(state: CliState) -> PlatformConfig:
    """The platform config from --config / ./podium.toml (errors at file:line), or the defaults."""
    from podium.config.loader import load_config_file
    from podium.config.models import PlatformConfig

    path = state.resolved_config_path()
    return PlatformConfig() if path is None else load_config_file(path)[0]


def _direct_manager(state: CliState, *, use_lock: bool = True) -> PluginManager:
    """A manager built straight from the config (without a Platform).

    Plugins see the same :class:`~podium.platform.PlatformInfo` (path settings resolve
    against the config's directory) and settings errors point at the file, as with one.
    """
    from podium.config.loader import load_config_file
    from podium.platform.context import PlatformInfo
    from podium.plugins.manager import PluginManager

    path = state.resolved_config_path()
    if path is None:
        config, locate = _read_config(state), None
        info = PlatformInfo.here(config.platform.name)
    else:
        config, locate = load_config_file(path)
        config_path = Path(path).resolve()
        state_dir = Path(config.platform.state_dir).expanduser()
        info = PlatformInfo(
            config.platform.name, config_path.parent, config_path.parent / state_dir, config_path
        )
    return PluginManager(
        config.plugins,
        load_entrypoints=not state.no_plugins,
        strict=state.strict_plugins or None,
        lock_path=_lock_path(state) if use_lock else None,
        locate=locate,
        platform_info=info,
    )


def _manager(state: CliState) -> PluginManager:
    """The platform's plugin manager (loaded)."""
    manager: PluginManager = state.platform().plugins
    return manager.load()


def _hooks_text(info: PluginInfo) -> str:
    parts = [f"{kind}: {', '.join(names)}" for kind, names in info.registrations.items() if names]
    other = [h for h in info.hooks if not any(h.endswith(k) for k in info.registrations)]
    if other:
        parts.append("hooks: " + ", ".join(other))
    return "; ".join(parts)


@click.group("plugins")
def plugins_group() -> None:
    """Installed plugins: list them, inspect one, lock their exact builds."""


@plugins_group.command("list")
@click.option("--json", "json_flag", is_flag=True, help="Machine-readable JSON output.")
@click.pass_context
def list_cmd(ctx: click.Context, json_flag: bool) -> None:
    """List every plugin: loaded, failed (with why), disabled or not allowed."""
    state = _setup(ctx)
    plugins = _manager(state).plugins
    if json_flag or state.json_output:
        state.echo_json({"plugins": [p.to_dict() for p in plugins]})
        return
    if not plugins:
        click.echo("no plugins")
        return
    for info in plugins:
        origin = f"{info.distribution} {info.version}" if info.distribution else info.source
        colour = {"loaded": "green", "failed": "red"}.get(info.status, "yellow")
        click.echo(
            f"{info.name:<20} {click.style(info.status, fg=colour):<20} {origin}"
            + (f"  [{_hooks_text(info)}]" if info.status == "loaded" and _hooks_text(info) else "")
        )
        if info.error is not None:
            click.echo(f"    error: {info.error.reason}")
            if info.error.hint:
                click.echo(f"    hint: {info.error.hint}")
            if info.optional:
                click.echo("    optional: changes go on without it")
        elif info.note:
            click.echo(f"    {info.note}")


@plugins_group.command("info")
@click.argument("name")
@click.option("--json", "json_flag", is_flag=True, help="Machine-readable JSON output.")
@click.pass_context
def info_cmd(ctx: click.Context, name: str, json_flag: bool) -> None:
    """Show one plugin: origin, API range, hooks, registrations, settings, error."""
    state = _setup(ctx)
    info = _manager(state).plugin(name)
    data = info.to_dict()
    if info.settings is not None and hasattr(info.settings, "model_dump"):
        from podium.plugins.settings import shown

        data["settings"] = shown(info.settings)
    if json_flag or state.json_output:
        state.echo_json(data)
        return
    for key, value in data.items():
        if value in (None, [], {}, ""):
            continue
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for sub, item in value.items():
                click.echo(f"  {sub}: {', '.join(item) if isinstance(item, list) else item}")
        elif isinstance(value, list):
            click.echo(f"{key}: {', '.join(str(v) for v in value)}")
        else:
            click.echo(f"{key}: {value}")


@plugins_group.command("lock")
@json_option
@click.pass_context
def lock_cmd(ctx: click.Context) -> None:
    """Write podium.lock: the version and file hashes of every loaded installed plugin.

    Each plugin's sources are compiled to checked-hash bytecode first, so the
    lock covers the .pyc files Python will run and Python never rewrites them.
    """
    from podium.plugins.discovery import discover
    from podium.plugins.lock import compile_bytecode, fingerprint, write_lock

    state = _setup(ctx)
    # Ignore any existing lock: relocking is how an intended upgrade is accepted.
    manager = _direct_manager(state, use_lock=False).load()
    loaded = {
        (p.name, p.distribution)
        for p in manager.plugins
        if p.source == "entry-point" and p.status == "loaded"
    }
    candidates = [c for c in discover() if (c.name, c.distribution) in loaded]
    problems = [f"{c.name}: {problem}" for c in candidates for problem in compile_bytecode(c)]
    locked = [fingerprint(c) for c in candidates]
    path = _lock_path(state)
    write_lock(path, locked)
    for problem in problems:
        click.echo(f"  warning: {problem}", err=True)
    if state.json_output:
        state.echo_json(
            {"lock": str(path), "plugins": [p.to_dict() for p in locked], "warnings": problems}
        )
        return
    click.echo(f"wrote {path} ({len(locked)} plugin{'s' if len(locked) != 1 else ''})")
    for entry in locked:
        click.echo(
            f"  {entry.name}: {entry.distribution} {entry.version} sha256:{entry.sha256[:16]}"
        )
    skipped = [p for p in manager.plugins if p.source == "entry-point" and p.status == "failed"]
    for info in skipped:
        click.echo(f"  not locked (failed to load): {info.name} ({info.distribution})", err=True)


class DoctorProblem(PodiumError):
    exit_code = ExitCode.ERROR


@click.command("doctor")
@env_option
@json_option
@click.pass_context
def doctor_cmd(ctx: click.Context, env: str | None) -> None:
    """Check that the config loads, plugins load and each environment's state is reachable.

    With -e only that environment's state is checked.
    """
    state = _setup(ctx)
    checks: list[dict[str, Any]] = []

    def report(check: str, status: str, detail: str = "") -> None:
        checks.append({"check": check, "status": status, "detail": detail})
        if not state.json_output:
            colour = {"ok": "green", "fail": "red"}.get(status, "yellow")
            click.echo(
                f"{click.style(f'{status:<11}', fg=colour)} {check}"
                + (f": {detail}" if detail else "")
            )

    try:
        config = _read_config(state)
        where = state.resolved_config_path()
        report("config", "ok", str(where) if where else "built-in defaults")
    except PodiumError as exc:
        report("config", "fail", str(exc))
        return _finish(state, checks)

    try:
        manager = _manager(state)
        failed = manager.failures
        loaded = [p for p in manager.plugins if p.status == "loaded"]
        required = [p for p in failed if not p.optional]
        report(
            "plugins", "fail" if required else "ok", f"{len(loaded)} loaded, {len(failed)} failed"
        )
        for info in failed:
            # An optional plugin's failure refuses no change: a warning, not a problem.
            status, note = ("warning", " (optional)") if info.optional else ("fail", "")
            report(f"plugin {info.name}", status, (info.error_message or "") + note)
    except PodiumError as exc:
        report("plugins", "fail", str(exc))
        return _finish(state, checks)

    _check_state(state, config, env or state.env, report)
    return _finish(state, checks)


def _check_state(state: CliState, config: PlatformConfig, only: str | None, report: Any) -> None:
    platform = state.platform()
    if only is not None and only not in config.environments:
        report(f"environment {only}", "fail", "not in the config")
        return
    for env_name in [only] if only is not None else config.environments:
        check = f"state {env_name} ({config.state.backend})"
        try:
            report(check, "ok", f"serial {platform.store(env_name).serial()}")
        except PodiumError as exc:
            report(check, "fail", str(exc))


def _finish(state: CliState, checks: list[dict[str, Any]]) -> None:
    problems = [c for c in checks if c["status"] == "fail"]
    if state.json_output:
        state.echo_json({"ok": not problems, "checks": checks})
        if problems:  # the JSON above is the report; only the exit code is left to give
            raise click.exceptions.Exit(int(ExitCode.ERROR))
    if problems:
        raise DoctorProblem(
            f"doctor found {len(problems)} problem{'s' if len(problems) > 1 else ''}"
        )
