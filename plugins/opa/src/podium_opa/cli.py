"""``podium policy``: commands for Rego policy authors."""

from __future__ import annotations

import json
from pathlib import Path

import click

from podium.plugin import ConfigError, ExitCode, PodiumError


class PolicyTestsFailedError(PodiumError):
    """A Rego test failed or could not run."""

    exit_code = ExitCode.POLICY_BLOCKED


def echo_document(ctx: click.Context, text: str) -> None:
    """Write the ``--json`` document where the podium CLI keeps stdout for it (other
    writes go to stderr in JSON mode); a plain echo when run outside it."""
    echo = getattr(ctx.find_root().obj, "echo_document", None)
    if callable(echo):
        echo(text)
    else:
        click.echo(text)


@click.group("policy")
def policy() -> None:
    """Test Rego policies (podium-opa)."""


@policy.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--library", is_flag=True, help="Test the policy library podium-opa ships too.")
@click.option(
    "--allowed-registry",
    "allowed_registries",
    multiple=True,
    help="A registry prefix, given to policies as data.podium_config.allowed_registries.",
)
@click.option("-v", "--verbose", is_flag=True, help="List passing tests too.")
@click.option("--json", "json_flag", is_flag=True, help="Machine-readable JSON output.")
@click.pass_context
def test(
    ctx: click.Context,
    paths: tuple[Path, ...],
    library: bool,
    allowed_registries: tuple[str, ...],
    verbose: bool,
    json_flag: bool,
) -> None:
    """Run the test_* rules of the .rego files under PATHS, like `opa test`.

    Every module is loaded (with the library's helper packages, so your checks can
    import data.podium_lib.images); a test passes when its rule is true. Exit code 0
    when every test passes, 5 when one fails, 3 when a module does not compile or there
    is no test to run.
    """
    from podium_opa.modules import LIBRARY, discover, read_module
    from podium_opa.policy_tests import run_tests

    json_output = json_flag or bool(ctx.find_root().params.get("json_output"))
    if not paths and not library:
        raise click.UsageError("give a directory or file of .rego modules, or --library")
    modules = []
    for path in paths:
        modules += discover(path) if path.is_dir() else [read_module(path)]
    shipped = discover(LIBRARY)
    given = {m.path.resolve() for m in modules}
    modules += [
        m
        for m in shipped
        if m.path.resolve() not in given and (library or (m.check is None and not m.tests))
    ]
    if not any(m.tests for m in modules):
        raise ConfigError(
            "no test_* rule found in " + ", ".join(str(p) for p in paths or [LIBRARY]),
            hint="tests are rules named test_..., usually in files ending in _test.rego",
        )
    results = run_tests(modules, {"allowed_registries": list(allowed_registries)})
    failed = [r for r in results if r.outcome != "pass"]
    if json_output:
        echo_document(
            ctx,
            json.dumps(
                {
                    "passed": len(results) - len(failed),
                    "failed": len(failed),
                    "tests": [r.to_dict() for r in results],
                },
                indent=2,
            ),
        )
    else:
        current = None
        for result in results:
            if result.outcome == "pass" and not verbose:
                continue
            if result.file != current:
                current = result.file
                click.echo(f"{result.file}:")
            detail = f": {result.message}" if result.message else ""
            click.echo(f"  {result.outcome.upper():5} {result.package}.{result.name}{detail}")
        if not failed:
            click.echo(f"{len(results)}/{len(results)} passed")
    if failed:
        raise PolicyTestsFailedError(
            f"{len(failed)} of {len(results)} Rego tests failed",
            hint=None if json_output else "-v lists the passing tests too",
        )
