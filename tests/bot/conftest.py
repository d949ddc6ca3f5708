"""Fixtures for bot tests: a fake Bot API on loopback and the real bot long-polling it.

Reusable by other bot tests (the moderators' group): request `fake` and `bot`, script people with
`fake.user(...)` / `fake.group(...)`, and read `bot_settings` for what the bot was built with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import Engine

from bot.app import BotApp
from cli.harness import running_bot, settings_for
from core.config import Settings
from faketelegram import FakeBotAPI


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    """A fake Telegram Bot API server on 127.0.0.1."""
    async with FakeBotAPI() as server:
        yield server


@pytest.fixture
def bot_settings(fake: FakeBotAPI, settings: Settings) -> Settings:
    """The test settings pointed at the fake server, with short delays."""
    return settings_for(fake, settings, bot_ack_delay_seconds=0.05)


@pytest.fixture
async def bot(fake: FakeBotAPI, bot_settings: Settings, engine: Engine) -> AsyncIterator[BotApp]:
    """The real bot, long-polling the fake server, stopped cleanly after the test."""
    async with running_bot(fake, bot_settings, engine) as application:
        yield application
