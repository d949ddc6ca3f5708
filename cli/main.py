"""The `pesisir` command line; each command group lives in its own module."""

from __future__ import annotations

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

app = typer.Typer(
    help="Suara Pesisir: climate stories from the coast, from Telegram to social channels.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def demo(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Where the demo keeps its database and photos.")
    ] = Path("demo-data"),
    keep: Annotated[bool, typer.Option("--keep", help="Keep an earlier demo's data.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the bot's log.")] = False,
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
    script.play(data_dir, keep=keep, verbose=verbose)


@app.command()
def init() -> None:
    """Create or migrate the database (SQLite under PESISIR_DATA_DIR, or PESISIR_DATABASE_URL)."""
    settings = common.load_settings()
    url = settings.effective_database_url
    common.migrate_database(url)
    typer.echo(f"Database ready: {common.describe_url(url)}")


app.command(name="run")(run_command.run)
app.command(name="check")(check_command.check)
app.command("exif")(media.exif)
app.add_typer(media.media_app, name="media")
app.command()(tag_command.tag)
app.command(name="ingest")(ingest_command.ingest)
moderation_cli.register(app)
publishing.register(app)
reports_cli.register(app)
