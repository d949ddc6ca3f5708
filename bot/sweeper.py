"""Background care, at start-up and every minute: nothing stays stuck, nothing is lost.

Failed downloads of contributors' files are fetched again (`bot.refetch`), then stories left in
`received` (the bot stopped mid-ingest) are ingested, so a photo fetched in time is processed.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.refetch import refetch
from bot.services import BotServices
from core.periodic import JOB_KWARGS

logger = logging.getLogger(__name__)

App = Application[Any, Any, Any, Any, Any, Any]

#: How often to look, and how old a `received` story must be to count as left behind
#: (younger ones are still being ingested by the task that received them).
SWEEP_SECONDS = 60.0
LEFT_BEHIND_SECONDS = 120.0


async def sweep_once(shared: BotServices, *, older_than_seconds: float) -> int:
    """Ingest every story left in `received`; how many there were."""
    done = await shared.pipeline.ingest_waiting(older_than_seconds)
    if done:
        logger.info("ingested %d stories left in 'received'", len(done))
    return len(done)


def register(application: App, shared: BotServices) -> None:
    """Run the sweeper on the bot's JobQueue: at start-up, then every minute (a registrar)."""
    queue = application.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is a dependency"
    started: list[bool] = []

    async def sweep(context: ContextTypes.DEFAULT_TYPE) -> None:
        # At start-up anything in `received` was left by an earlier process.
        age = LEFT_BEHIND_SECONDS if started else 0.0
        started.append(True)
        try:
            await refetch(context.bot, shared)
        except Exception:  # the next round retries
            logger.exception("fetching failed downloads again failed")
        try:
            await sweep_once(shared, older_than_seconds=age)
        except Exception:  # the next round retries
            logger.exception("sweeping received stories failed")

    # At start-up (a one-off run: it is not skipped when the scheduler starts a moment late),
    # then every minute.
    queue.run_once(sweep, when=0, name="received-sweeper", job_kwargs=JOB_KWARGS)
    queue.run_repeating(
        sweep,
        interval=SWEEP_SECONDS,
        first=SWEEP_SECONDS,
        name="received-sweeper",
        job_kwargs=JOB_KWARGS,
    )
