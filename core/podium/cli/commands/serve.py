"""``podium serve``: the HTTP API (needs the ``podium[serve]`` extra).

The server's dependencies are imported here only when the command runs, so the
other commands never load them.
"""

from __future__ import annotations

import socket

import click

from podium.cli.context import get_state


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8600,
    show_default=True,
    help="Port to listen on (0: any free port; the line 'listening on URL' names it).",
)
@click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Platform config file (the same as -c before the subcommand).",
)
@click.option("--access-log", is_flag=True, help="Log every request on stderr.")
@click.pass_context
def serve_cmd(
    ctx: click.Context, host: str, port: int, config_path: str | None, access_log: bool
) -> None:
    """Serve the self-service API under /api/v1 (OpenAPI at /api/v1/openapi.json).

    Callers authenticate with a token from 'podium tokens create' or an OIDC JWT from
    an issuer in [serve] of podium.toml; [access] says which roles may change which
    environment. Ctrl-C (or SIGTERM) cancels running changes cleanly and stops.
    """
    try:
        import uvicorn

        from podium.serve.app import Server, create_app
        from podium.serve.transport import CoalescingHttpToolsProtocol
    except ImportError as exc:
        from podium.errors import InputError

        raise InputError(
            f"podium serve needs its extra dependencies ({exc.name} is missing)",
            hint="pip install 'podium[serve]'",
        ) from None
    from podium.serve.store import open_server_store

    state = get_state(ctx)
    if config_path is not None:
        state.configure(
            config_path=config_path,
            json_output=state.json_output,
            debug=state.debug,
            strict_plugins=state.strict_plugins,
            no_plugins=state.no_plugins,
        )
    platform = state.platform()
    oidc = None
    if platform.config.serve.oidc:
        from podium.serve.oidc import OidcVerifier

        oidc = OidcVerifier(platform.config.serve.oidc, platform.root)
    server = Server(platform, open_server_store(platform), oidc)
    app = create_app(server)

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without, a keep-alive client waits out the peer's
    # delayed ACK (40 ms) between a response's header and body writes.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    # Listening before the line below is printed: a client that reads it may connect at
    # once (its connection waits in the backlog until the server accepts).
    sock.listen(2048)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    config = uvicorn.Config(
        app,
        # httptools with a response's writes sent as one; the loop is uvloop where the
        # extra installed it (not on Windows), else asyncio's: both measured in
        # benchmarks/bench_serve.py.
        http=CoalescingHttpToolsProtocol,
        loop="auto",
        log_level="warning",
        access_log=access_log,
        timeout_graceful_shutdown=10,
        lifespan="on",
    )

    class CancellingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: object) -> None:
            # Cancel runs first, so their event streams end and connections close.
            server.runs.begin_shutdown()
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    click.echo(f"podium serve: listening on http://{shown}:{bound}/api/v1", err=True)
    CancellingServer(config).run(sockets=[sock])
    state._platform = None  # closed by the server's shutdown
