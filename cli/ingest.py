"""`pesisir ingest`: run the pipeline on stories left in `received` (the bot does it too)."""

from __future__ import annotations

import typer

from cli import common


def ingest() -> None:
    """Run the pipeline on every story still in 'received' (after a crash, for example)."""
    from pipeline import ingest_waiting

    settings = common.load_settings()
    engine = common.open_database(settings)
    done = ingest_waiting(engine, settings, older_than_seconds=0)
    for ref, state in done:
        typer.echo(f"{ref}: {state}")
    typer.echo(f"{len(done)} stories processed")
