"""``podium plan``, ``apply``, ``up`` and ``destroy``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from podium.cli.confirm import confirm_destructive
from podium.cli.context import CliState, get_state
from podium.cli.options import (
    env_option,
    files_option,
    json_option,
    resolve_env,
    resolve_files,
    take_over_option,
    yes_option,
)
from podium.cli.run_control import controlled_run, lock_timeout_option
from podium.engine.audit import attempt
from podium.errors import PolicyBlockedError

if TYPE_CHECKING:
    from podium.engine.apply import ApplyResult
    from podium.engine.plan import Plan

#: consent to DATA LOSS changes in a protected environment (see podium.engine.data_loss)
allow_data_loss_option = click.option(
    "--allow-data-loss",
    is_flag=True,
    help="Proceed although the plan deletes or replaces a resource holding data in a "
    "protected environment (history records it).",
)


def _run_apply(
    state: CliState,
    plan: Plan,
    parallelism: int | None,
    take_over: tuple[str, ...] = (),
    lock_timeout: float = 0.0,
    allow_data_loss: bool = False,
) -> ApplyResult:
    from podium.cli.render import Progress, render_result

    platform = state.platform()
    progress = Progress(sum(1 for c in plan.changes if c.action != "no-op"), state.interactive)
    subscription = platform.subscribe(progress) if not state.json_output else None
    try:
        with controlled_run(platform, quiet=state.json_output):
            result = platform.apply(
                plan,
                parallelism=parallelism,
                take_over=take_over,
                lock_timeout=lock_timeout,
                allow_data_loss=allow_data_loss,
            )
    finally:
        progress.finish()
        if subscription is not None:
            subscription.cancel()
    if state.json_output:
        state.echo_json({"plan": plan.to_dict(), "result": result.to_dict()})
    else:
        click.echo(render_result(result))
        _print_urls(state, plan.environment, result)
    result.raise_for_failures()
    return result


def _print_urls(state: CliState, env: str, result: ApplyResult) -> None:
    outputs = state.platform().outputs(env)
    for uid, values in sorted(outputs.items()):
        if uid.startswith("deployment:") and values.get("urls"):
            click.echo(f"  {uid.split(':', 1)[1]}: " + "  ".join(values["urls"]))


def _show_plan(state: CliState, plan: Plan, verbose: bool) -> None:
    from podium.cli.render import render_plan

    if state.json_output:
        return
    click.echo(render_plan(plan, verbose=verbose))


@click.command("plan")
@env_option
@files_option
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), help="Save the plan for 'podium apply PLAN'."
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Ask provisioners what really exists and deployers what really runs (drift detection).",
)
@click.option("--destroy", is_flag=True, help="Plan the removal of the workloads (all with no -f).")
@click.option(
    "--prune", is_flag=True, help="Also delete workloads in state that are not in these files."
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also list unchanged nodes, create params and the rule each resource matched.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Like -v, and say for every node which rule or setting chose its provider, why "
    "that rule won, and the plugin version that will make it.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="How to print the plan: json is --json; markdown is for a pull request "
    "(job summary, merge-request note).",
)
@click.option(
    "--all",
    "all_workloads",
    is_flag=True,
    help="Blast radius: plan every deployed workload in every environment (or -e's) from "
    "the Score source state recorded at deploy; exit 5 on a mandatory finding.",
)
@take_over_option
@allow_data_loss_option
@json_option
@click.pass_context
def plan_cmd(
    ctx: click.Context,
    env: str | None,
    files: tuple[str, ...],
    out: str | None,
    refresh: bool,
    destroy: bool,
    prune: bool,
    verbose: bool,
    explain: bool,
    output_format: str,
    all_workloads: bool,
    take_over: tuple[str, ...],
    allow_data_loss: bool,
) -> None:
    """Show what apply would change, with the reason for each change.

    Only the given workloads are planned; other workloads deployed in the
    environment are left alone unless --prune. With --all, every deployed workload
    of every environment is planned to preview a platform change (nothing applies).
    """
    state = get_state(ctx)
    if output_format == "json":
        state.json_output = True
    if all_workloads:
        if files or out or destroy or prune or take_over:
            raise click.UsageError(
                "--all plans what is deployed; it takes no -f, --out, --destroy, --prune "
                "or --take-over"
            )
        _plan_all(state, env, refresh, output_format)
        return
    environment = resolve_env(state, env)
    paths = list(files) if destroy else resolve_files(state, files)
    plan = state.platform().plan(
        environment,
        paths,
        refresh=refresh,
        destroy=destroy,
        prune=prune,
        take_over=take_over,
        allow_data_loss=allow_data_loss,
    )
    if out:
        Path(out).write_text(plan.to_json() + "\n")
    saved = f"Saved to {out}; apply exactly this plan with: podium apply {out}"
    if state.json_output:
        state.echo_json(plan.to_dict())
    elif output_format == "markdown":
        from podium.engine.plan_report import plan_markdown

        click.echo(plan_markdown(plan, explain=explain), nl=False)
        if out:
            click.echo(saved, err=True)  # stdout is the document
    else:
        _show_plan(state, plan, verbose or explain)
        if explain:
            from podium.engine.plan_report import explain_lines

            click.echo("\n".join(explain_lines(plan, rules_shown=True)))
        if out:
            click.echo(saved)
    if plan.blocking_findings:
        raise PolicyBlockedError(
            f"{len(plan.blocking_findings)} mandatory policy finding(s) would block apply"
        )


def _plan_all(state: CliState, env: str | None, refresh: bool, output_format: str) -> None:
    """``podium plan --all``: the blast radius of the platform as it is configured now."""
    from podium.engine.blast import blast_markdown, blast_text, plan_all

    platform = state.platform()
    environments = [resolve_env(state, env)] if env or state.env else None
    radius = plan_all(platform, environments=environments, refresh=refresh)
    if state.json_output:
        state.echo_json(radius.to_dict())
    elif output_format == "markdown":
        click.echo(blast_markdown(radius), nl=False)
    else:
        click.echo("\n".join(blast_text(radius)))
    if radius.blocking_findings:
        raise PolicyBlockedError(
            f"{len(radius.blocking_findings)} mandatory policy finding(s) across the "
            "environments would block apply"
        )


@click.command("apply")
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, exists=True))
@env_option
@files_option
@click.option("--parallelism", "-p", type=click.IntRange(1, 256), help="Nodes applied at once.")
@yes_option
@take_over_option
@allow_data_loss_option
@lock_timeout_option
@json_option
@click.pass_context
@attempt("apply")  # refusals in its plan, verification or apply are recorded
def apply_cmd(
    ctx: click.Context,
    plan_file: str | None,
    env: str | None,
    files: tuple[str, ...],
    parallelism: int | None,
    yes: bool,
    take_over: tuple[str, ...],
    allow_data_loss: bool,
    lock_timeout: float,
) -> None:
    """Apply a saved plan exactly, or plan and apply the workloads.

    A saved plan is verified first: it is recomputed from the Score sources it
    embeds against the current config and state, and refused (exit 12) unless the
    file matches; -e, when given, must name the plan's environment. Applying a saved
    plan never asks: reviewing it was the approval.
    """
    from podium.engine.plan import load_plan_file

    state = get_state(ctx)
    platform = state.platform()
    if plan_file:
        if files:
            raise click.UsageError("a saved plan carries its own workloads; drop -f/--file")
        plan = platform.verify_plan(
            load_plan_file(plan_file), env=env or state.env, take_over=take_over
        )
    else:
        with controlled_run(platform, quiet=state.json_output) as control:
            plan = platform.plan(
                resolve_env(state, env),
                resolve_files(state, files),
                refresh_deployments=True,
                take_over=take_over,
                lock_timeout=lock_timeout,
                allow_data_loss=allow_data_loss,
            )
        control.check()  # Ctrl-C while planning: change nothing
    _show_plan(state, plan, verbose=False)
    if not plan.has_changes and not state.json_output:
        click.echo("Nothing to apply.")
    confirm_destructive(state, plan, yes=yes or bool(plan_file))
    _run_apply(state, plan, parallelism, take_over, lock_timeout, allow_data_loss)


@click.command("up")
@env_option
@files_option
@click.option("--parallelism", "-p", type=click.IntRange(1, 256), help="Nodes applied at once.")
@click.option(
    "--prune", is_flag=True, help="Also delete workloads in state that are not in these files."
)
@yes_option
@take_over_option
@allow_data_loss_option
@lock_timeout_option
@json_option
@click.pass_context
@attempt("up")  # refusals in its plan or apply are recorded as up
def up_cmd(
    ctx: click.Context,
    env: str | None,
    files: tuple[str, ...],
    parallelism: int | None,
    prune: bool,
    yes: bool,
    take_over: tuple[str, ...],
    allow_data_loss: bool,
    lock_timeout: float,
) -> None:
    """Plan and apply in one step, then show the workloads' health.

    Deployers are asked whether the deployed workloads still run: one that is
    down or gone (after a reboot, say) is deployed again, with the reason in the plan.
    """
    from podium.cli.render import render_status
    from podium.errors import UnhealthyError

    state = get_state(ctx)
    platform = state.platform()
    environment = resolve_env(state, env)
    # Like Platform.up: workloads found down (after a reboot, say) are deployed again.
    with controlled_run(platform, quiet=state.json_output) as control:
        plan = platform.plan(
            environment,
            resolve_files(state, files),
            prune=prune,
            refresh_deployments=True,
            take_over=take_over,
            lock_timeout=lock_timeout,
            allow_data_loss=allow_data_loss,
        )
    control.check()  # Ctrl-C while planning: change nothing
    _show_plan(state, plan, verbose=False)
    confirm_destructive(state, plan, yes=yes)
    _run_apply(state, plan, parallelism, take_over, lock_timeout, allow_data_loss)
    statuses = platform.status(environment, probe=True)  # readiness is never taken from a record
    if not state.json_output:
        click.echo(render_status(statuses))
    down = [s for s in statuses if s.state in ("down", "partial")]
    if down:
        raise UnhealthyError(
            "not ready: " + "; ".join(f"{s.workload}: {s.state} {s.message}".strip() for s in down)
        )


@click.command("destroy")
@env_option
@files_option
@click.option("--workload", "-w", "names", multiple=True, help="Only this workload (repeatable).")
@click.option("--parallelism", "-p", type=click.IntRange(1, 256), help="Nodes removed at once.")
@yes_option
@take_over_option
@allow_data_loss_option
@lock_timeout_option
@json_option
@click.pass_context
@attempt("destroy")  # refusals in its plan or apply are recorded as destroy
def destroy_cmd(
    ctx: click.Context,
    env: str | None,
    files: tuple[str, ...],
    names: tuple[str, ...],
    parallelism: int | None,
    yes: bool,
    take_over: tuple[str, ...],
    allow_data_loss: bool,
    lock_timeout: float,
) -> None:
    """Remove workloads and their resources (all of the environment by default), dependents first."""
    state = get_state(ctx)
    environment = resolve_env(state, env)
    with controlled_run(state.platform(), quiet=state.json_output) as control:
        plan = state.platform().plan(
            environment,
            list(files),
            destroy=True,
            workloads=list(names),
            take_over=take_over,
            lock_timeout=lock_timeout,
            allow_data_loss=allow_data_loss,
        )
    control.check()  # Ctrl-C while planning: change nothing
    _show_plan(state, plan, verbose=False)
    confirm_destructive(state, plan, yes=yes)
    _run_apply(state, plan, parallelism, take_over, lock_timeout, allow_data_loss)
