"""`pesisir web [--host] [--port]` serves the dashboard; `pesisir web link --name --role` prints a
one-time login link (the URL alone on its last line) for an admin with shell access, e.g. the
first login of a fresh install. `pesisir run` serves the dashboard beside the bot when
PESISIR_WEB_PORT is set (`web_beside`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from cli import common
from core.errors import ConfigError, PesisirError

if TYPE_CHECKING:  # the dashboard's modules load when it is served, not for `--help`
    from fastapi import FastAPI
    from sqlalchemy.engine import Engine

    from core.config import Settings

logger = logging.getLogger(__name__)

web_app = typer.Typer(
    help="The web dashboard: serve it, or print a one-time login link.",
    invoke_without_command=True,
)


def _app_or_exit(settings: Settings, engine: Engine) -> FastAPI:
    """The dashboard app, or a one-line error naming the setting to fix."""
    from web import create_app

    try:
        return create_app(settings, engine)
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None


@web_app.callback()
def web(
    context: typer.Context,
    host: Annotated[str | None, typer.Option(help="address to bind (PESISIR_WEB_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (PESISIR_WEB_PORT, else 8000)")] = None,
) -> None:
    """Serve the dashboard until interrupted (the same process may not run the bot)."""
    if context.invoked_subcommand is not None:
        return
    settings = common.load_settings()
    engine = common.open_database(settings)
    from web.server import serve

    app = _app_or_exit(settings, engine)
    bind_host, bind_port = host or settings.web_host, port or settings.web_port or 8000
    typer.echo(f"Dashboard on http://{bind_host}:{bind_port} (Ctrl-C stops it)")
    serve(app, bind_host, bind_port)


@web_app.command("link")
def link(
    name: Annotated[str, typer.Option(help="the person's name, as others will see it")],
    role: Annotated[str, typer.Option(help="moderator, campaign, admin or viewer")] = "admin",
) -> None:
    """Print a one-time login link for NAME with ROLE (made or updated); the URL comes last."""
    from cli.moderation import cli_actor
    from core.db import session_scope
    from moderation import access

    settings = common.load_settings()
    engine = common.open_database(settings)
    try:
        with session_scope(engine) as session:
            person = access.person_named(session, name, role, actor=cli_actor())
            token = access.issue_link(session, person.id, issued_by=cli_actor())
    except PesisirError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"A login link for {person.name} ({person.role.value}); it works once, "
        f"for {access.LINK_MINUTES} minutes:"
    )
    typer.echo(access.login_url(settings, token))


@contextmanager
def web_beside(settings: Settings, engine: Engine) -> Iterator[None]:
    """Serve the dashboard on a thread while the caller runs (when PESISIR_WEB_PORT is set)."""
    if settings.web_port is None:
        yield
        return
    from web.server import serving

    app = _app_or_exit(settings, engine)
    with serving(app, settings.web_host, settings.web_port) as url:
        logger.info("dashboard on %s", url)
        yield
