"""``podium status``, ``logs``, ``outputs``, ``rollback`` and ``history``."""

from __future__ import annotations

import click

from podium.cli.context import get_state
from podium.cli.options import env_option, json_option, resolve_env
from podium.cli.run_control import controlled_run, lock_timeout_option
from podium.engine.audit import KINDS


@click.command("status")
@env_option
@click.argument("workload", required=False)
@click.option(
    "--probe",
    is_flag=True,
    help="Check every workload now (all at once) instead of showing the health its "
    "deployer last recorded.",
)
@json_option
@click.pass_context
def status_cmd(ctx: click.Context, env: str | None, workload: str | None, probe: bool) -> None:
    """Health of deployed workloads: ready, partial or down, with URLs.

    Deployers that probe in the background (podium-local) answer with the health
    they recorded, and its age is shown (``checked_at`` in JSON); the others, and
    every workload with --probe, are checked now. Exits with code 10 when a
    workload is not ready.
    """
    from podium.cli.render import render_status
    from podium.errors import UnhealthyError

    state = get_state(ctx)
    statuses = state.platform().status(resolve_env(state, env), workload, probe=probe)
    if state.json_output:
        state.echo_json([s.model_dump(mode="json") for s in statuses])
    else:
        click.echo(render_status(statuses))
    bad = [s for s in statuses if s.state != "ready"]
    if bad:
        raise UnhealthyError(", ".join(f"{s.workload} is {s.state}" for s in bad))


@click.command("logs")
@env_option
@click.argument("workload")
@click.option("--container", "-c", help="Only this container.")
@click.option("--follow", "-F", "follow", is_flag=True, help="Keep printing new lines.")
@click.option("--tail", "-n", type=int, help="Only the last N lines.")
@json_option
@click.pass_context
def logs_cmd(
    ctx: click.Context,
    env: str | None,
    workload: str,
    container: str | None,
    follow: bool,
    tail: int | None,
) -> None:
    """Print a workload's logs."""
    import json

    state = get_state(ctx)
    lines = state.platform().logs(
        resolve_env(state, env), workload, container=container, follow=follow, tail=tail
    )
    for line in lines:
        if state.json_output:
            state.echo_document(
                json.dumps(
                    {
                        "container": line.container,
                        "text": line.text,
                        "stream": line.stream,
                        "timestamp": line.timestamp.isoformat() if line.timestamp else None,
                    }
                )
            )
        else:
            click.echo(f"{line.container} | {line.text}")


@click.command("outputs")
@env_option
@click.argument("uid", required=False)
@click.option("--show-secrets", is_flag=True, help="Print secret values instead of (sensitive).")
@json_option
@click.pass_context
def outputs_cmd(ctx: click.Context, env: str | None, uid: str | None, show_secrets: bool) -> None:
    """Outputs of resources and deployments (secrets redacted unless --show-secrets)."""
    import json

    from podium.errors import NotFoundError

    state = get_state(ctx)
    outputs = state.platform().outputs(resolve_env(state, env), show_secrets=show_secrets)
    if uid is not None:
        if uid not in outputs:
            raise NotFoundError(f"no node {uid!r}", hint="nodes: " + ", ".join(sorted(outputs)))
        outputs = {uid: outputs[uid]}
    if state.json_output:
        state.echo_json(outputs)
        return
    for node, values in sorted(outputs.items()):
        click.echo(click.style(node, bold=True))
        for key, value in sorted(values.items()):
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            click.echo(f"  {key} = {shown}")


@click.command("rollback")
@env_option
@click.argument("workload")
@click.option("--to", "to", type=int, help="Release number (default: the previous good release).")
@lock_timeout_option
@json_option
@click.pass_context
def rollback_cmd(
    ctx: click.Context, env: str | None, workload: str, to: int | None, lock_timeout: float
) -> None:
    """Redeploy an earlier release of a workload."""
    state = get_state(ctx)
    platform = state.platform()
    with controlled_run(platform, quiet=state.json_output):
        result = platform.rollback(
            resolve_env(state, env), workload, to=to, lock_timeout=lock_timeout
        )
    if state.json_output:
        state.echo_json(result)
    else:
        click.echo(
            f"{workload}: release {result['release']} is release {result['rolled_back_to']} again "
            + "  ".join(result["urls"])
        )


@click.command("history")
@env_option
@click.option("--workload", "-w", help="Show the release history of this workload instead.")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    type=click.Choice(KINDS),
    help="Only entries of this kind (repeatable): runs, rollbacks, secret changes, state "
    "edits, blocked attempts, secret reveals.",
)
@click.option("--limit", "-n", type=int, default=20, show_default=True)
@json_option
@click.pass_context
def history_cmd(
    ctx: click.Context, env: str | None, workload: str | None, kinds: tuple[str, ...], limit: int
) -> None:
    """The audit trail: who applied, rolled back, changed secrets or state, was blocked or
    revealed secrets, when, and the result; or a workload's releases."""
    from podium.engine.audit import describe

    state = get_state(ctx)
    platform = state.platform()
    environment = resolve_env(state, env)
    if workload:
        releases = platform.releases(environment, workload)[-limit:]
        if state.json_output:
            state.echo_json(releases)
            return
        for release in releases:
            click.echo(
                f"release {release['number']:<4} {release.get('created_at', '')[:19]}  "
                f"{release.get('status', ''):<9} {release.get('deployer', '')}  {release.get('note', '')}"
            )
        return
    entries = platform.history(environment, limit, kinds=kinds)
    if state.json_output:
        state.echo_json(entries)
        return
    for entry in entries:
        when = (entry.get("finished_at") or entry.get("started_at") or "")[:19]
        click.echo(
            f"#{entry['id']:<4} {when}  {entry.get('who', '?'):<22} {entry.get('operation', ''):<14} "
            f"{entry.get('status', ''):<10} {describe(entry)}"
        )
