"""The `pesisir` command line; each command group lives in its own module.

`main()` is the entry point: a wrong setting or an unreachable database ends in one line naming
what to fix (exit 2), anything unexpected in one redacted line (exit 1), never a traceback on the
terminal (the full, redacted traceback goes to the log at DEBUG).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli import check as check_command
from cli import common, media, publishing
from cli import ingest as ingest_command
from cli import moderation as moderation_cli
from cli import reports as reports_cli
from cli import run as run_command
from cli import tag as tag_command
from cli import web as web_command
from core.errors import ConfigError, PesisirError
from core.logging_setup import redact

app = typer.Typer(
    help="Suara Pesisir: climate stories from the coast, from Telegram to social channels.",
    no_args_is_help=True,
    add_completion=False,
    # Typer's own traceback printer shows local variables (settings, texts): never.
    pretty_exceptions_enable=False,
)


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the demo keeps its database and photos.")
    ] = Path("demo-data"),
    keep: Annotated[bool, typer.Option("--keep", help="Keep an earlier demo's data.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the bot's log.")] = False,
    log_level: Annotated[
        str | None,
        typer.Option("--log-level", help="The log's level, e.g. DEBUG (secrets are redacted)."),
    ] = None,
) -> None:
    """Play two contributors against the real bot on a fake, offline Telegram."""
    try:  # the fake Telegram is a development tool, installed with the dev extra
        from cli import demo as script
    except ModuleNotFoundError as missing:
        typer.echo(
            f"pesisir demo needs the development tools ({missing.name} is not installed): "
            "pip install 'suara-pesisir[dev]', or run: python3 dev.py demo",
            err=True,
        )
        raise typer.Exit(2) from None
    script.play(data_dir, keep=keep, log_level=log_level or ("INFO" if verbose else "WARNING"))


@app.command()
def init() -> None:
    """Create or migrate the database (SQLite under PESISIR_DATA_DIR, or PESISIR_DATABASE_URL)."""
    from core.db import describe_url

    settings = common.load_settings()
    common.prepare_database(settings)
    typer.echo(f"Database ready: {describe_url(settings.effective_database_url)}")


app.command(name="run")(run_command.run)
app.command(name="check")(check_command.check)
app.command("exif")(media.exif)
app.add_typer(media.media_app, name="media")
app.command()(tag_command.tag)
app.command(name="ingest")(ingest_command.ingest)
moderation_cli.register(app)
publishing.register(app)
app.add_typer(web_command.web_app, name="web")
reports_cli.register(app)


def main() -> None:
    """`pesisir`: run a command; errors end in one kind line, never a traceback."""
    try:
        app()
    except ConfigError as error:
        typer.echo(redact(f"pesisir: {error}"), err=True)
        sys.exit(2)
    except PesisirError as error:
        typer.echo(redact(f"pesisir: {error}"), err=True)
        sys.exit(1)
    except Exception as error:  # the last line of defence on a terminal
        # SQLAlchemy is imported here, not at start-up: most commands' help needs none of it.
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(error, SQLAlchemyError):
            reason = str(getattr(error, "orig", None) or type(error).__name__).strip()
            typer.echo(
                redact(
                    f"pesisir: the database failed: {reason.splitlines()[0] if reason else error}"
                    ". Check PESISIR_DATABASE_URL or PESISIR_DATA_DIR, then run pesisir check"
                ),
                err=True,
            )
            sys.exit(2)
        logging.getLogger("pesisir").debug("unexpected error", exc_info=True)
        typer.echo(
            redact(
                f"pesisir: unexpected {type(error).__name__}: {error}. Details: run again with "
                "PESISIR_LOG_LEVEL=DEBUG (secrets are redacted)"
            ),
            err=True,
        )
        sys.exit(1)
