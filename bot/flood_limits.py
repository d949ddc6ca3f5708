"""Telegram's flood limits for the bot's calls, served oldest update first.

python-telegram-bot's `AIORateLimiter` keeps the bot within Telegram's limits (30 messages a
second in all, 20 a minute per group) and serves waiting calls in the order the calls were made.
When a burst of people write at once, each update makes several calls, and an update's second
call queues behind every first call of the updates that came after it: answers late in a step
wait twice. `FirstComeLimiter` keeps the same limits (aiolimiter's leaky buckets) and the same
retries after a 429, but lets waiting calls through in the order their *updates* arrived, so an
update that came first is answered first (calls outside an update count from when they are made).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import constants
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)
JSONDict = dict[str, Any]  # a Bot API answer, as python-telegram-bot passes it

# When the update whose handler is running arrived (the event loop's clock); unset outside one
_ARRIVED: ContextVar[float | None] = ContextVar("pesisir_update_arrived", default=None)
MAX_GROUP_LANES = 512  # idle group lanes are dropped beyond this many, as AIORateLimiter does


@contextlib.contextmanager
def arrived_now() -> Iterator[None]:
    """Mark the calls made inside (and in tasks started inside) as the current update's."""
    token = _ARRIVED.set(asyncio.get_running_loop().time())
    try:
        yield
    finally:
        _ARRIVED.reset(token)


class _Lane:
    """A leaky bucket whose waiting calls go through lowest rank first."""

    _order = itertools.count()  # ties (same rank) go in the order they came

    def __init__(self, max_rate: float, period: float) -> None:
        self.bucket = AsyncLimiter(max_rate, period)
        self.waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self.server: asyncio.Task[None] | None = None

    async def acquire(self, rank: float) -> None:
        """Wait for this call's turn: capacity in the bucket, and no older call waiting."""
        if not self.waiting and self.bucket.has_capacity():
            await self.bucket.acquire()  # returns at once: no one to overtake
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiting, (rank, next(self._order), turn))
        if self.server is None or self.server.done():
            self.server = asyncio.create_task(self._serve(), name="flood limits")
        await turn

    async def _serve(self) -> None:
        # Take capacity as it frees up and hand it to the oldest call still waiting.
        while self.waiting:
            await self.bucket.acquire()
            while self.waiting:
                _, _, turn = heapq.heappop(self.waiting)
                if not turn.done():  # a cancelled call gives its place away
                    turn.set_result(None)
                    break

    def idle(self) -> bool:
        """Nothing waiting and the bucket empty: the lane can be forgotten."""
        return not self.waiting and self.bucket.has_capacity(self.bucket.max_rate)

    def close(self) -> None:
        """Stop handing out turns (at shutdown)."""
        if self.server is not None:
            self.server.cancel()


class FirstComeLimiter(BaseRateLimiter[int]):
    """Telegram's flood limits, waiting calls served in the order their updates arrived."""

    def __init__(self, max_retries: int = 3) -> None:
        self._overall = _Lane(constants.FloodLimit.MESSAGES_PER_SECOND, 1)
        self._groups: dict[int | str, _Lane] = {}
        self._max_retries = max_retries
        self._not_paused = asyncio.Event()
        self._not_paused.set()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Stop the lanes' servers."""
        for lane in (self._overall, *self._groups.values()):
            lane.close()

    def _group(self, chat_id: int | str) -> _Lane:
        if len(self._groups) > MAX_GROUP_LANES:
            for key in [k for k, lane in self._groups.items() if k != chat_id and lane.idle()]:
                del self._groups[key]
        if chat_id not in self._groups:
            self._groups[chat_id] = _Lane(constants.FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP, 60)
        return self._groups[chat_id]

    async def process_request(  # noqa: PLR0917 (python-telegram-bot's signature)
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for the call's turn in its group's lane and the overall lane, then make it;
        after a 429, pause every call for the time Telegram asks and try again."""
        rank = _ARRIVED.get()
        if rank is None:
            rank = asyncio.get_running_loop().time()
        chat_id = data.get("chat_id")
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        # As AIORateLimiter: calls without a chat are not limited; negative ids and @names are
        # groups and channels, which have their own per-minute limit as well
        group = (isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str)
        max_retries = rate_limit_args or self._max_retries
        attempt = 0
        while True:
            if group:
                await self._group(chat_id).acquire(rank)  # type: ignore[arg-type]
            if chat_id is not None:
                await self._overall.acquire(rank)
            await self._not_paused.wait()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt >= max_retries:
                    log.warning("Telegram still limits calls after %d retries", max_retries)
                    raise
                attempt += 1
                pause = error.retry_after
                seconds = pause if isinstance(pause, int) else pause.total_seconds()
                log.info("Telegram asked to wait %.0f s; every call waits", seconds)
                self._not_paused.clear()
                try:
                    await asyncio.sleep(seconds + 0.1)
                finally:
                    self._not_paused.set()
