"""The bot's flood limits: Telegram's rates kept, waiting calls served oldest update first, a
429 waited out and retried (through python-telegram-bot's real HTTP stack and the fake Bot API)."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.flood_limits import FirstComeLimiter, arrived_now
from faketelegram import FakeBotAPI


async def _recorded(limiter: FirstComeLimiter, served: list[str], name: str, chat: int) -> Any:
    async def call() -> bool:
        served.append(name)
        return True

    return await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": chat}, None)


async def test_the_update_that_came_first_is_answered_first() -> None:
    """An update's later call overtakes the waiting calls of updates that came after it (with
    python-telegram-bot's AIORateLimiter it queued behind them)."""
    limiter = FirstComeLimiter()
    served: list[str] = []
    # Telegram's 30 calls a second: 30 of these go out at once and 10 wait (a third of a second)
    fills = [asyncio.create_task(_recorded(limiter, served, "fill", 1)) for _ in range(40)]
    await asyncio.sleep(0)
    with arrived_now():
        first = contextvars.copy_context()  # the update that came first
    await asyncio.sleep(0.01)
    with arrived_now():
        later = contextvars.copy_context()
    later_call = asyncio.create_task(_recorded(limiter, served, "later", 2), context=later)
    await asyncio.sleep(0)  # the later update's call is waiting now
    first_call = asyncio.create_task(_recorded(limiter, served, "first", 3), context=first)
    await asyncio.gather(*fills, later_call, first_call)
    assert served[40:] == ["first", "later"]
    await limiter.shutdown()


async def test_the_overall_rate_is_kept() -> None:
    """After the first 30, calls go out no faster than 30 a second."""
    limiter = FirstComeLimiter()
    served: list[str] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(_recorded(limiter, served, str(n), n + 1) for n in range(60)))
    assert len(served) == 60
    assert loop.time() - started >= 29 / 30  # 30 at once, then one every 1/30 s
    await limiter.shutdown()


async def test_calls_without_a_chat_are_not_held() -> None:
    limiter = FirstComeLimiter()
    served: list[str] = []

    async def call() -> bool:
        served.append("getMe")
        return True

    fills = [asyncio.create_task(_recorded(limiter, served, "fill", 1)) for _ in range(90)]
    await asyncio.sleep(0)  # 60 calls wait: two seconds of Telegram's rate
    # getFile, answerCallbackQuery, getMe carry no chat_id: Telegram does not count them
    await asyncio.wait_for(limiter.process_request(call, (), {}, "getMe", {}, None), 1.0)
    assert "getMe" in served and served.count("fill") < 90
    await asyncio.gather(*fills)
    await limiter.shutdown()


async def test_a_429_is_waited_out_and_retried(fake: FakeBotAPI) -> None:
    user = fake.user(42, "Yuli")
    bot = ExtBot(fake.token, base_url=fake.base_url, rate_limiter=FirstComeLimiter(max_retries=1))
    async with bot:
        fake.fail_next("sendMessage", retry_after=1)
        await bot.send_message(user.id, "halo")
        assert (await user.next_reply())["text"] == "halo"
        assert len(fake.calls_of("sendMessage")) == 2  # the refused call and its retry
        fake.fail_next("sendMessage", retry_after=1, count=2)
        with pytest.raises(RetryAfter):
            await bot.send_message(user.id, "lagi")  # refused again after its one retry
