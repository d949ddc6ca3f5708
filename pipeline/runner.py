"""Where the pipeline's work runs: beside the bot, but never in its way.

Making renditions and tagging takes a second or more of CPU per story; on a small server,
during a burst of contributors, that CPU is what the bot needs to answer them. So by default
the work runs in a separate process at a lower scheduling priority (`nice` 10, PESISIR_PIPELINE
_PROCESSES of them): the operating system gives the bot's process the cores first, and the
stories are processed as soon as the burst leaves room. With 0 processes it runs in a thread of
the caller's process, as before.

`ingest` is safe to run twice and in several processes (see `pipeline.ingestion`), so a story
handed to a process that dies is simply ingested again by the sweeper.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from sqlalchemy.engine import Engine

from core.config import Settings
from core.db import get_engine
from core.logging_setup import configure_logging
from pipeline.ingestion import ingest, ingest_waiting

logger = logging.getLogger(__name__)

#: How much lower the pipeline's processes run than the bot (0 normal, 19 lowest).
NICENESS = 10


def _start_worker(settings: Settings) -> None:
    # A spawned process starts with no logging: give it the bot's redacting handler and level.
    configure_logging(settings.log_level, settings.secret_values())
    try:
        os.nice(NICENESS)
    except OSError:  # not allowed here (some containers): it still runs, at normal priority
        logger.debug("could not lower the pipeline process's priority")


def _ingest_in_process(settings: Settings, story_id: int) -> str:
    return ingest(get_engine(settings.effective_database_url), settings, story_id)


def _ingest_waiting_in_process(settings: Settings, older_than_seconds: float) -> list[Any]:
    engine = get_engine(settings.effective_database_url)
    return ingest_waiting(engine, settings, older_than_seconds=older_than_seconds)


class PipelineRunner:
    """Runs `ingest` in low-priority worker processes (or a thread when `processes` is 0)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._pool: Executor | None = None
        if settings.pipeline_processes > 0:
            # A fresh interpreter per worker ("spawn"): the bot's threads and event loop are
            # not copied into it half-held, as a fork would.
            self._pool = ProcessPoolExecutor(
                max_workers=settings.pipeline_processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(settings,),
            )

    async def ingest(self, story_id: int) -> str:
        """Process one story; the state it ends in."""
        if self._pool is None:
            return await asyncio.to_thread(ingest, self.engine, self.settings, story_id)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _ingest_in_process, self.settings, story_id)

    async def ingest_waiting(self, older_than_seconds: float) -> list[Any]:
        """Process every story left in `received`; (ref, state)s."""
        if self._pool is None:
            return await asyncio.to_thread(
                ingest_waiting, self.engine, self.settings, older_than_seconds=older_than_seconds
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, _ingest_waiting_in_process, self.settings, older_than_seconds
        )

    def shutdown(self) -> None:
        """Let running work finish, then end the processes."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
