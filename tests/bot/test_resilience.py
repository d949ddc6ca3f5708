"""When Telegram misbehaves: 429s are retried, a failed download keeps the row, blocked users."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.engine import Engine

from bot.app import BotApp
from core.config import Settings
from core.i18n import t
from faketelegram import FakeBotAPI
from faketelegram.images import jpeg
from tests.bot.helpers import media_of, stories_of, texts


async def test_flood_control_429_is_retried(fake: FakeBotAPI, bot: BotApp) -> None:
    user = fake.user(31, "Yuli", "id")
    fake.fail_next("sendMessage", retry_after=1)
    user.command("bantuan")
    reply = await user.next_reply(timeout=10)
    assert reply["text"] == t("id", "bot.help", limit=10)
    assert len(fake.calls_of("sendMessage")) == 2  # refused once, then sent


async def test_failed_download_keeps_the_file_reference(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(32, "Yuli", "id")
    fake.fail_next("getFile", status=502, description="Bad Gateway")
    user.send_photo(jpeg())
    answers = texts(await user.settle())
    assert answers == [t("id", "bot.refuse.download_failed")]
    [story] = stories_of(engine, 32)
    [row] = media_of(engine, story.id or 0)
    # Nothing lost: Telegram's ids are kept, so the file can be fetched again later.
    assert row.telegram_file_id and row.file_unique_id and row.path is None and row.error


async def test_a_user_who_blocked_the_bot_does_not_break_it(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    blocked, other = fake.user(33, "Ama", "id"), fake.user(34, "Yuli", "id")
    fake.block(blocked.id)
    blocked.send_text("Cerita sebelum memblokir bot.")
    await blocked.settle()
    assert stories_of(engine, 33)[0].text == "Cerita sebelum memblokir bot."  # saved anyway
    other.command("start")
    assert "Suara Pesisir" in (await other.next_reply())["text"]


async def test_unexpected_error_is_logged_without_contributor_data(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    user = fake.user(7_350_001, "Yuli", "id")
    user.send_text("Air masuk rumah.")
    await user.settle()
    user.command("kirim")
    assert texts(await user.settle()) == [t("id", "bot.ask.place")]
    fake.fail_next("sendMessage", status=400, description="Bad Request: can't parse entities")
    caplog.set_level(logging.INFO)
    user.send_text("Rumah Mama Yuli, RT 05 Oesapa")
    assert texts(await user.settle()) == [t("id", "bot.error.internal")]
    assert stories_of(engine, 7_350_001)[0].place_text == "Rumah Mama Yuli, RT 05 Oesapa"  # kept
    assert "unhandled BadRequest" in caplog.text
    assert "Mama Yuli" not in caplog.text and "7350001" not in caplog.text


async def test_a_photo_sent_again_after_a_failed_download_is_fetched(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(35, "Yuli", "id")
    photo = jpeg(color=(40, 90, 140))
    fake.fail_next("getFile", status=502, description="Bad Gateway")
    user.send_photo(photo)
    assert texts(await user.settle()) == [t("id", "bot.refuse.download_failed")]
    user.send_photo(photo)  # as the answer asks: the same photo once more
    await user.settle()
    [story] = stories_of(engine, 35)
    [row] = media_of(engine, story.id or 0)  # one photo, not a failed row and a stored one
    assert row.path is not None and row.sha256 and row.error is None


async def test_debug_logging_keeps_ids_names_and_coordinates_out(
    fake: FakeBotAPI, bot_settings: Settings, engine: Engine
) -> None:
    from cli.harness import running_bot
    from core.logging_setup import configure_logging

    class Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.lines.append(self.format(record))

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    keep = Keep()
    try:
        configure_logging("DEBUG")  # PESISIR_LOG_LEVEL=DEBUG, as someone chasing a problem would
        root.addHandler(keep)
        user = fake.user(7_351_002, "Mamayuli", "id")
        async with running_bot(fake, bot_settings, engine):
            user.send_text("Air masuk rumah.")
            user.send_location(-10.13991, 123.64681)
            await user.settle()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("telegram").setLevel(logging.NOTSET)
    text = "\n".join(keep.lines)
    assert "unhandled" not in text  # the conversation itself went fine
    for secret in ("7351002", "Mamayuli", "-10.13991", "123.64681", "Air masuk rumah"):
        assert secret not in text


async def test_the_tenth_photo_sent_again_after_a_failed_download_is_not_one_too_many(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(36, "Yuli", "id")
    user.send_album([jpeg(color=(i * 20, 60, 60)) for i in range(9)])
    await user.settle()
    tenth = jpeg(color=(250, 10, 10))
    fake.fail_next("getFile", status=502, description="Bad Gateway")
    user.send_photo(tenth)
    assert texts(await user.settle()) == [t("id", "bot.refuse.download_failed")]
    user.send_photo(tenth)
    answers = texts(await user.settle())
    assert t("id", "bot.refuse.too_many_photos", limit=10) not in answers
    [story] = stories_of(engine, 36)
    rows = media_of(engine, story.id or 0)
    assert len(rows) == 10 and all(row.path for row in rows)
