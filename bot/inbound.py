"""Updates stored before Telegram hears they arrived, and replayed after a crash.

python-telegram-bot confirms the updates it fetched on its next `getUpdates` (the `offset`), and
a webhook answers 200 as soon as the update is queued: both before any handler has run. An
update fetched just before a kill was lost. Here the update queue writes each update to the
`inbound_updates` table before it is queued (so before either confirmation), the update
processor marks it handled once its handler has finished and the chat's pending "saved" answer
has gone out, and the next start queues every update not yet handled again, first.

A handled update keeps only its id for two days (Telegram keeps updates one day), so one
Telegram delivers again, unconfirmed when the bot was killed, is recognised and skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from telegram import Bot, Update
from telegram.ext import BaseUpdateProcessor

from bot.flood_limits import arrived_now
from bot.services import BotServices
from core.clock import utcnow
from core.db import session_scope
from core.models import InboundUpdate

logger = logging.getLogger(__name__)

#: How long the id of a handled update is kept to recognise a redelivery.
KEEP_HANDLED = timedelta(days=2)


def store(engine: Engine, item: Update) -> bool:
    """Keep `item` until it is handled; False when it was seen before (a redelivery)."""
    try:
        with session_scope(engine) as session:
            session.add(InboundUpdate(update_id=item.update_id, payload=item.to_dict()))
    except IntegrityError:
        return False
    return True


def mark_handled(engine: Engine, update_id: int) -> None:
    """Its handler finished and its answer went out: forget the update, keep its id."""
    with session_scope(engine) as session:
        session.execute(
            update(InboundUpdate)
            .where(col(InboundUpdate.update_id) == update_id)
            .values(handled_at=utcnow(), payload=None)
        )


def unhandled(engine: Engine, bot: Bot) -> list[Update]:
    """Updates stored but not handled (a crash came first), oldest first."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(InboundUpdate)
            .where(col(InboundUpdate.handled_at).is_(None))
            .order_by(col(InboundUpdate.update_id))
        ).all()
        payloads = [row.payload for row in rows if row.payload]
    found = [Update.de_json(payload, bot) for payload in payloads]
    return [item for item in found if item is not None]


def forget_old(engine: Engine) -> int:
    """Drop the ids of updates handled more than KEEP_HANDLED ago; how many."""
    with session_scope(engine) as session:
        result = session.execute(
            delete(InboundUpdate).where(col(InboundUpdate.handled_at) < utcnow() - KEEP_HANDLED)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class DurableUpdateQueue(asyncio.Queue[object]):
    """The application's update queue: an update is stored before it is queued."""

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    async def put(self, item: object) -> None:
        """Store a Telegram update, then queue it; a redelivered one is dropped."""
        if isinstance(item, Update) and not await asyncio.to_thread(store, self.engine, item):
            logger.info("update %d was delivered again: already stored, skipped", item.update_id)
            return
        await super().put(item)

    async def replay(self, items: list[Update]) -> None:
        """Queue updates that are already stored (after a crash), ahead of new ones."""
        for item in items:
            await super().put(item)


class DurableUpdateProcessor(BaseUpdateProcessor):
    """Handles updates of different chats at once and each chat's in order; marks each update
    handled once its handler and the chat's pending answer are done."""

    def __init__(self, shared: BotServices, max_concurrent_updates: int = 1) -> None:
        super().__init__(max_concurrent_updates)
        self.shared = shared
        # A lock per chat with updates in flight, and how many of them hold or await it:
        # asyncio locks wake waiters in the order they came, and updates reach here in
        # Telegram's order, so a chat's updates stay in order.
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handlers after the chat's earlier updates, then mark the update handled."""
        chat = update.effective_chat if isinstance(update, Update) else None
        with arrived_now():  # the update's calls to Telegram wait their turn from its arrival
            await self._in_chat_order(chat.id if chat is not None else None, coroutine)
        if not isinstance(update, Update):
            return
        chat = update.effective_chat
        pending = self.shared.acks.get(chat.id) if chat is not None else None
        if pending is None or pending.done():
            await asyncio.to_thread(mark_handled, self.shared.engine, update.update_id)
            return

        def answered(task: asyncio.Task[Any]) -> None:
            # A cancelled answer (a stop without flushing) leaves the update to be replayed.
            if not task.cancelled():
                self.shared.spawn(
                    asyncio.to_thread(mark_handled, self.shared.engine, update.update_id),
                    name=f"handled {update.update_id}",
                )

        pending.add_done_callback(answered)

    async def _in_chat_order(self, chat_id: int | None, coroutine: Awaitable[Any]) -> None:
        if chat_id is None:
            await coroutine
            return
        lock, users = self._chats.get(chat_id) or (asyncio.Lock(), 0)
        self._chats[chat_id] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._chats[chat_id]
            if users == 1:
                del self._chats[chat_id]
            else:
                self._chats[chat_id] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
