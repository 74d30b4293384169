"""The `tenure` command line (Typer + Rich). Exit codes: see docs/cli.md."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from cli.errors import USAGE, fail, friendly_errors, load_settings
from cli.keys import keys_app
from cli.mail import mail_app
from cli.simulate import register as register_simulate
from cli.support import register as register_support
from cli.tokens import tokens_app
from cli.usage import usage_app
from cli.verify import verify
from cli.webhooks import webhooks_app
from config.settings import Settings
from db.engine import required_url

app = typer.Typer(
    name="tenure",
    help="Tenure: subscription lifecycle engine on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(tokens_app, name="tokens")
app.add_typer(usage_app, name="usage")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(mail_app, name="mail")
app.add_typer(keys_app, name="keys")  # issue 19: payload encryption keys
app.command("verify")(verify)  # issue 18: the invariant checker
register_support(app)
register_simulate(app)
console = Console()


def _logging(settings: Settings) -> None:
    """JSON lines (or text: TENURE_LOG_FORMAT) at TENURE_LOG_LEVEL: observability/logs.py."""
    from observability.logs import configure

    configure(settings)


def _check_catalog(name: str) -> None:
    from billing.catalog import load_catalog

    load_catalog(name)


@app.command()
def dev(
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed a demo workspace and print its admin's billing page link.")
    ] = False,
) -> None:
    """Run the whole product on embedded defaults (PostgreSQL, Temporal, Stripe emulator,
    worker, API) until Ctrl-C; data is kept under .tenure/."""
    from cli.dev import run_dev

    with friendly_errors():
        settings = load_settings(discover=False)
        _check_catalog(settings.catalog)
        if demo:
            from billing.catalog import load_catalog
            from cli.demo import require_seats_catalog

            require_seats_catalog(load_catalog(settings.catalog))
        raise typer.Exit(run_dev(settings, console, demo=demo))


@app.command()
def worker() -> None:
    """Run a worker: subscription workflows and their activities."""
    from worker.main import exit_after_shutdown, run_worker

    with friendly_errors():
        settings = load_settings(discover=False)
        _logging(settings)
        required_url(settings.database_url)
        if settings.stripe_api_key is None:
            fail(
                "STRIPE_API_KEY is not set: the worker charges invoices through Stripe (or use `tenure dev`)",
                USAGE,
            )
        _check_catalog(settings.catalog)
        asyncio.run(run_worker(settings))
    exit_after_shutdown()


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Bind address (TENURE_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (TENURE_API_PORT).")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from api.app import create_app

    with friendly_errors():
        settings = load_settings(discover=False)
        required_url(settings.database_url)
        _check_catalog(settings.catalog)
        from devstack.ports import ensure_free

        bind_host, bind_port = host or settings.api_host, port or settings.api_port
        ensure_free(bind_host, bind_port, "the API", "TENURE_API_PORT")
        from observability import tracing

        _logging(settings)
        tracing.configure(settings)
        # log_config=None: uvicorn's lines go through our handler; the request line is the
        # middleware's (it knows the request id and workspace), so no access log.
        app = create_app(settings)
        # SIGTERM: stop accepting, let the requests in flight finish for the setting's seconds.
        uvicorn.run(
            app,
            host=bind_host,
            port=bind_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=round(settings.api_graceful_shutdown_s),
        )


@app.command()
def migrate() -> None:
    """Apply database migrations (Alembic) to TENURE_DATABASE_URL."""
    from db.migrate import upgrade

    with friendly_errors():
        settings = load_settings()
        upgrade(required_url(settings.database_url))
        console.print("database schema is up to date")


@app.command("config")
def show_config(
    markdown: Annotated[bool, typer.Option(help="Print the README's Markdown table.")] = False,
) -> None:
    """Show every setting, its environment variable, default and current value."""
    from cli.config_table import render

    with friendly_errors():
        render(load_settings(discover=False), console, markdown=markdown)


def main() -> None:
    """The `tenure` entry point.

    A short-lived process that used a Temporal client can abort while the interpreter shuts
    down (the SDK's Rust threads outlive Python's finalization: "PyGILState_Release ... must
    be current", temporalio/sdk-python#300). Such commands have finished and said everything
    by then, so they leave without the interpreter's teardown.
    """
    try:
        app()
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    if "temporalio.bridge.client" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    main()
