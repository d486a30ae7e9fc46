"""`improve serve`: the HTTP API under uvicorn."""

from __future__ import annotations

import logging

import click

from workers.console import err, handles_errors, load_settings, setup_logging, warn

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--insecure-no-auth", is_flag=True,
              help="No bearer token needed (local use only: refused unless --host is a loopback address).")
@click.option("-v", "--verbose", is_flag=True, help="Log what every part does (on stderr).")
@handles_errors
def serve(host: str, port: int, insecure_no_auth: bool, verbose: bool) -> None:
    """The HTTP API: trigger cycles, syncs and scans, read status and reports, approve or reject proposals."""
    import uvicorn

    from workers.api import create_app
    from workers.api_auth import ApiSetupError

    settings = load_settings()
    setup_logging(verbose, settings.secrets())
    for name in ("uvicorn.error", "uvicorn.access", "workers.api_routes"):
        logging.getLogger(name).setLevel(logging.INFO)
    if insecure_no_auth and host not in LOOPBACK:
        raise click.UsageError(f"--insecure-no-auth listens on loopback only, not on {host}: set IMPROVE_API_TOKEN")
    try:
        app = create_app(settings, insecure_no_auth=insecure_no_auth)
    except ApiSetupError as exc:
        raise click.UsageError(str(exc)) from exc
    if insecure_no_auth:
        warn("--insecure-no-auth: ANYONE who reaches this port can trigger cycles and approve or reject proposals; "
             "decisions are recorded as unauthenticated. Use it on your own machine only.")
    err.print(f"improve API on http://{host}:{port} (OpenAPI at /openapi.json)", markup=False)
    uvicorn.run(app, host=host, port=port, log_config=None, server_header=False, timeout_graceful_shutdown=10)
