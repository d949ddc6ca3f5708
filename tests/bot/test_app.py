"""The application as built for production, driven over HTTP through the fake Bot API."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from bot.app import BotApp, build_application
from core.config import Settings
from core.errors import ConfigError
from core.i18n import t
from faketelegram import FakeBotAPI
from tests.bot.helpers import press, stories_of, texts


async def test_start_answers_and_commands_are_set(fake: FakeBotAPI, bot: BotApp) -> None:
    user = fake.user(7, "Yuli")
    user.command("start")
    reply = await user.next_reply()
    assert "Suara Pesisir" in reply["text"]
    assert {c["command"] for c in fake.commands["all_private_chats:"]} >= {
        "start",
        "kirim",
        "hapus",
    }
    assert "all_private_chats:en" in fake.commands


def test_a_placeholder_token_is_refused_without_echoing_it(
    bot_settings: Settings, engine: Engine
) -> None:
    placeholder = bot_settings.model_copy(
        update={"telegram_token": SecretStr("123456789:AA-your-token-from-BotFather")}
    )
    with pytest.raises(ConfigError) as error:
        build_application(placeholder, engine)
    assert "your-token" not in str(error.value)
    with pytest.raises(ConfigError, match="not set"):
        build_application(bot_settings.model_copy(update={"telegram_token": None}), engine)


async def test_hapus_with_a_code_goes_straight_to_the_confirmation(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(8, "Yuli", "id")
    user.send_text("Cerita yang nanti ditarik.")
    await user.settle()
    [story] = stories_of(engine, 8)
    user.command("hapus", story.ref.lower())
    assert texts(await user.settle()) == [t("id", "bot.erase.confirm_one", ref=story.ref)]
    assert await press(user, "bot.erase.yes_button") == [
        t("id", "bot.erase.done_one", ref=story.ref, removed=t("id", "bot.erase.removed_text"))
    ]
    assert stories_of(engine, 8)[0].state == "erased"
