"""Run the real bot (`bot.app.build_application`) against a fake Bot API, for demo and tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import Engine
from telegram import Update

from bot.app import BotApp, Registrar, build_application, webhook_options
from bot.services import services
from core.config import Settings
from faketelegram.server import FakeBotAPI


def settings_for(fake: FakeBotAPI, settings: Settings, **overrides: Any) -> Settings:
    """`settings` pointed at the fake server (token and both base URLs)."""
    return settings.model_copy(
        update={
            "telegram_token": SecretStr(fake.token),
            "telegram_base_url": fake.base_url,
            "telegram_base_file_url": fake.base_file_url,
            **overrides,
        }
    )


@asynccontextmanager
async def running_bot(
    fake: FakeBotAPI,
    settings: Settings,
    engine: Engine,
    *,
    poll_timeout: int = 1,
    registrars: list[Registrar] | None = None,
) -> AsyncIterator[BotApp]:
    """Build, initialise and run the bot against `fake`; stops it cleanly on exit.

    Long polling, or a webhook server when `settings.webhook_url` is set (the fake then posts
    updates to it, like Telegram).

    `settings` must already point at the fake (see `settings_for`). Mirrors what
    `Application.run_polling` does, step by step, so tests can hold the loop.
    """
    application = build_application(settings, engine, registrars=registrars)
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    assert application.updater is not None
    if settings.webhook_url:
        await application.updater.start_webhook(**webhook_options(settings))
    else:
        await application.updater.start_polling(
            poll_interval=0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES
        )
    await application.start()
    shared = services(application)

    async def idle() -> None:
        await application.update_queue.join()
        while shared.acks:
            await asyncio.wait(list(shared.acks.values()))

    fake.idle_hook = idle
    try:
        yield application
    finally:
        fake.idle_hook = None
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
