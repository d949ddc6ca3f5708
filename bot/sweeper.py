"""Background care, at start-up and every minute: nothing stays stuck, nothing is lost.

Failed downloads of contributors' files are fetched again (`bot.refetch`), then stories left in
`received` (the bot stopped mid-ingest) are ingested, so a photo fetched in time is processed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Bot
from telegram.ext import Application

from bot.refetch import refetch
from bot.services import BotServices
from pipeline.ingest import ingest_waiting

logger = logging.getLogger(__name__)

#: How often to look, and how old a `received` story must be to count as left behind
#: (younger ones are still being ingested by the task that received them).
SWEEP_SECONDS = 60.0
LEFT_BEHIND_SECONDS = 120.0


async def sweep_once(shared: BotServices, *, older_than_seconds: float) -> int:
    """Ingest every story left in `received`; how many there were."""
    done = await asyncio.to_thread(
        ingest_waiting, shared.engine, shared.settings, older_than_seconds=older_than_seconds
    )
    if done:
        logger.info("ingested %d stories left in 'received'", len(done))
    return len(done)


async def _loop(bot: Bot, shared: BotServices, stopping: asyncio.Event) -> None:
    # At start-up anything in `received` was left by an earlier process.
    age = 0.0
    while not stopping.is_set():
        try:
            await refetch(bot, shared)
        except Exception:  # the next round retries
            logger.exception("fetching failed downloads again failed")
        try:
            await sweep_once(shared, older_than_seconds=age)
        except Exception:  # the next round retries
            logger.exception("sweeping received stories failed")
        age = LEFT_BEHIND_SECONDS
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=SWEEP_SECONDS)


App = Application[Any, Any, Any, Any, Any, Any]


def register(application: App, shared: BotServices) -> None:
    """Start the sweeper with the bot and stop it with the bot (a registrar for `bot.app`)."""
    stopping = asyncio.Event()
    previous_init = application.post_init
    previous_shutdown = application.post_shutdown

    async def post_init(app: App) -> None:
        if previous_init is not None:
            await previous_init(app)
        shared.spawn(_loop(app.bot, shared, stopping), name="received-sweeper")

    async def post_shutdown(app: App) -> None:
        stopping.set()
        if previous_shutdown is not None:
            await previous_shutdown(app)

    application.post_init = post_init
    application.post_shutdown = post_shutdown
