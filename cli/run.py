"""`pesisir run`: the Telegram bot and, by default, the dispatcher beside it."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Annotated

import typer

from cli import common
from core.errors import ConfigError


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
    from bot.app import run as run_bot
    from bot.app import webhook_problem
    from cli.checks_telegram import BOTFATHER_HINT, token_refused
    from cli.web import web_beside
    from publishers.worker import dispatch_job

    settings = common.load_settings()
    if settings.telegram_token is None:
        typer.echo(
            "PESISIR_TELEGRAM_TOKEN is not set. Create a bot with @BotFather and put its token "
            "in .env (see README, 'Telegram bot: setup'). To try without one: pesisir demo",
            err=True,
        )
        raise typer.Exit(2)
    problem = webhook_problem(settings)
    if problem is not None:
        raise ConfigError(problem)
    if asyncio.run(token_refused(settings)):
        raise ConfigError(f"Telegram refused PESISIR_TELEGRAM_TOKEN: {BOTFATHER_HINT}")
    engine = common.prepare_database(settings)
    jobs = []
    if dispatch:
        # Dispatch runs on the bot's JobQueue beside its own periodic work, in a thread.
        worker_id = f"run-{socket.gethostname()}-{os.getpid()}"
        jobs.append(dispatch_job(engine, settings, worker_id=worker_id))
    with web_beside(settings, engine):  # the dashboard too, when PESISIR_WEB_PORT is set
        run_bot(settings, engine, jobs=jobs)
