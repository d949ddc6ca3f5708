"""The `pesisir` command line; each command group lives in its own module."""

from __future__ import annotations

import typer

from cli import check as check_command
from cli import common, media, publishing
from cli import demo as demo_command
from cli import ingest as ingest_command
from cli import moderation as moderation_cli
from cli import run as run_command
from cli import tag as tag_command

app = typer.Typer(
    help="Suara Pesisir: climate stories from the coast, from Telegram to social channels.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def init() -> None:
    """Create or migrate the database (SQLite under PESISIR_DATA_DIR, or PESISIR_DATABASE_URL)."""
    settings = common.load_settings()
    url = settings.effective_database_url
    common.migrate_database(url)
    typer.echo(f"Database ready: {common.describe_url(url)}")


app.command(name="run")(run_command.run)
app.command(name="check")(check_command.check)
app.command(name="demo")(demo_command.demo)
app.command("exif")(media.exif)
app.add_typer(media.media_app, name="media")
app.command()(tag_command.tag)
app.command(name="ingest")(ingest_command.ingest)
moderation_cli.register(app)
publishing.register(app)
