"""`pesisir run`: the Telegram bot and, by default, the dispatcher beside it."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer

from bot.app import run as run_bot
from cli import common
from publishers.worker import start_scheduler


def run(
    dispatch: Annotated[
        bool,
        typer.Option(
            "--dispatch/--no-dispatch",
            help="Also send due posts (default). Use --no-dispatch when `pesisir worker` runs.",
        ),
    ] = True,
) -> None:
    """Run the Telegram bot until interrupted (needs PESISIR_TELEGRAM_TOKEN), with dispatch."""
    settings = common.load_settings()
    if settings.telegram_token is None:
        typer.echo(
            "PESISIR_TELEGRAM_TOKEN is not set. Create a bot with @BotFather and put its token "
            "in .env (see README, 'Telegram bot: setup'). To try without one: pesisir demo",
            err=True,
        )
        raise typer.Exit(2)
    engine = common.engine_for(settings)
    scheduler = None
    if dispatch:
        # The dispatcher ticks in a background thread; the bot owns the main thread's loop.
        worker_id = f"run-{socket.gethostname()}-{os.getpid()}"
        scheduler = start_scheduler(engine, settings, worker_id=worker_id)
    try:
        run_bot(settings, engine)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
