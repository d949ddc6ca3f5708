"""What every handler needs (settings, engine, media store) and the background tasks it starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from telegram.ext import Application

from core.config import Settings
from core.storage import MediaStore
from pipeline.runner import PipelineRunner

logger = logging.getLogger(__name__)

SERVICES_KEY = "pesisir.services"


@dataclass
class BotServices:
    """Shared by all handlers through `application.bot_data`."""

    settings: Settings
    engine: Engine
    store: MediaStore
    pipeline: PipelineRunner
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    #: Per chat, the pending "saved" answer (a burst of messages gets one answer).
    acks: dict[int, asyncio.Task[Any]] = field(default_factory=dict)
    #: Per chat, when the pending answer is due (event-loop time); and chats whose summary
    #: went out of date because content arrived after it.
    ack_due: dict[int, float] = field(default_factory=dict)
    ack_after_summary: set[int] = field(default_factory=set)
    #: Per chat, how many of its messages are being handled right now: the answer waits for
    #: them, or a message saved while the answer is composed would get a second, identical one.
    handling: dict[int, int] = field(default_factory=dict)
    #: (chat, album, message key) already told, so an album gets one refusal, not ten.
    told: set[tuple[int, str, str]] = field(default_factory=set)
    #: Set when the bot stops: pending answers go out now instead of after the quiet time.
    flushing: asyncio.Event = field(default_factory=asyncio.Event)

    @contextlib.contextmanager
    def handling_chat(self, chat_id: int) -> Iterator[None]:
        """Mark a message of `chat_id` as being handled (its pending answer waits)."""
        self.handling[chat_id] = self.handling.get(chat_id, 0) + 1
        try:
            yield
        finally:
            left = self.handling.pop(chat_id) - 1
            if left:
                self.handling[chat_id] = left

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run `coroutine` in the background; shutdown waits for it; errors are logged."""
        task = asyncio.create_task(coroutine, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            logger.error("background task %s failed: %s", task.get_name(), type(error).__name__)

    async def quiet_or_flushing(self, seconds: float) -> None:
        """Sleep `seconds`, or less when the bot starts stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flushing.wait(), timeout=seconds)

    async def flush_acks(self, timeout: float = 10.0) -> None:
        """At stop, while the bot can still send: give every pending answer now."""
        self.flushing.set()
        if self.acks:
            await asyncio.wait(set(self.acks.values()), timeout=timeout)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for background tasks at shutdown; pending answers are dropped."""
        for task in self.acks.values():
            task.cancel()
        self.acks.clear()
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout)
        await asyncio.to_thread(self.pipeline.shutdown)


def services(application: Application[Any, Any, Any, Any, Any, Any]) -> BotServices:
    """The services of a built application."""
    found = application.bot_data[SERVICES_KEY]
    assert isinstance(found, BotServices)
    return found
