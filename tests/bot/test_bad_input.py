"""Bad input: each gets a kind answer in the contributor's language, and nothing breaks."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import BotApp
from core.config import Settings
from core.i18n import t
from core.models import Media, Submission
from faketelegram import DOWNLOAD_LIMIT, FakeBotAPI, FakeUser
from faketelegram.images import jpeg
from tests.bot.helpers import media_of, stories_of, texts


def _no_story(engine: Engine) -> None:
    with Session(engine) as session:
        assert session.exec(select(Submission)).all() == []
        assert session.exec(select(Media)).all() == []


def _files(settings: Settings) -> list[str]:
    folder = settings.data_dir / "private" / "originals"
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize(
    ("send", "key"),
    [
        (lambda u: u.send_sticker(), "bot.refuse.sticker"),
        (lambda u: u.send_animation(), "bot.refuse.gif"),
        (lambda u: u.send_contact(), "bot.refuse.contact"),
        (lambda u: u.send_poll(), "bot.refuse.poll"),
        (lambda u: u.send_text("   "), "bot.refuse.empty"),
        (lambda u: u.send_text("🌊😢🙏🏽"), "bot.refuse.emoji_only"),
        (
            lambda u: u.send_document(
                b"%PDF-1.7\n...", file_name="lapor.pdf", mime_type="application/pdf"
            ),
            "bot.refuse.not_media",
        ),
        (
            lambda u: u.send_document(
                b"PK\x03\x04apk",
                file_name="app.apk",
                mime_type="application/vnd.android.package-archive",
            ),
            "bot.refuse.not_media",
        ),
        (
            lambda u: u.send_document(
                jpeg(),
                file_name="besar.jpg",
                mime_type="image/jpeg",
                declared_size=DOWNLOAD_LIMIT + 1,
            ),
            "bot.refuse.too_big",
        ),
    ],
    ids=["sticker", "gif", "contact", "poll", "blank", "emoji", "pdf", "apk", "over-20MB"],
)
@pytest.mark.parametrize("lang", ["id", "en"])
async def test_refused_kindly_and_nothing_stored(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, send: object, key: str, lang: str
) -> None:
    user = fake.user(11, "Yuli", lang)
    send(user)  # type: ignore[operator]
    assert texts(await user.settle()) == [t(lang, key)]
    _no_story(engine)


async def test_zip_disguised_as_jpeg_is_caught_by_its_content(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, bot_settings: Settings
) -> None:
    user = fake.user(12, "Yuli", "id")
    user.send_document(b"PK\x03\x04" + b"\x00" * 64, file_name="foto.jpg", mime_type="image/jpeg")
    assert texts(await user.settle()) == [t("id", "bot.refuse.not_media")]
    assert _files(bot_settings) == []
    assert fake.calls_of("getFile")  # it was downloaded, then judged by its bytes
    [story] = stories_of(engine, 12)  # the draft row came first; no media row stays
    assert media_of(engine, story.id or 0) == []


async def test_very_long_text_keeps_the_first_part_and_says_the_limit(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, bot_settings: Settings
) -> None:
    user = fake.user(13, "Yuli", "id")
    limit = bot_settings.max_text_chars
    user.send_text("Air naik. " * 2000)  # 20,000 characters
    answers = texts(await user.settle())
    assert answers[0] == t("id", "bot.refuse.too_long", limit=limit, dropped=20000 - limit - 1)
    [story] = stories_of(engine, 13)
    assert story.text is not None and len(story.text) == limit


async def test_eleventh_photo_is_refused(fake: FakeBotAPI, bot: BotApp, engine: Engine) -> None:
    user = fake.user(14, "Yuli", "id")
    user.send_album([jpeg(color=(i * 20, 50, 50)) for i in range(10)])
    await user.settle()
    user.send_photo(jpeg(color=(255, 0, 0)))
    answers = texts(await user.settle())
    assert answers[0] == t("id", "bot.refuse.too_many_photos", limit=10)
    [story] = stories_of(engine, 14)
    assert len(media_of(engine, story.id or 0)) == 10


async def test_album_of_twelve_keeps_ten_and_says_so_once(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(15, "Yuli", "id")
    user.send_album([jpeg(color=(i * 20, 90, 50)) for i in range(12)], caption="Banjir rob")
    answers = texts(await user.settle())
    assert answers.count(t("id", "bot.refuse.too_many_photos", limit=10)) == 1
    [story] = stories_of(engine, 15)
    assert len(media_of(engine, story.id or 0)) == 10 and story.text == "Banjir rob"


async def test_flood_gets_one_notice_and_keeps_what_was_accepted(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, bot_settings: Settings
) -> None:
    user = fake.user(16, "Yuli", "id")
    for number in range(1, 101):
        user.send_text(f"pesan nomor {number}")
    answers = texts(await user.settle(timeout=30))
    notice = t("id", "bot.refuse.slow_down")
    assert answers.count(notice) == 1
    [story] = stories_of(engine, 16)
    # Otherwise only "saved" answers (one per burst: one, or a few on a slow machine).
    others = [answer for answer in answers if answer != notice]
    saved = t("id", "bot.saved.body", what="tulisan")
    assert 1 <= len(others) <= 5 and all(answer.startswith(saved[:-1]) for answer in others)
    limit = bot_settings.rate_limit_per_minute
    kept = (story.text or "").split("\n\n")
    assert kept == [f"pesan nomor {n}" for n in range(1, limit + 1)]


async def test_second_start_keeps_the_open_story(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user: FakeUser = fake.user(17, "Yuli", "id")
    user.send_photo(jpeg())
    await user.settle()
    user.command("start")
    [question] = texts(await user.settle())
    [story] = stories_of(engine, 17)
    assert question == t("id", "bot.open.question", ref=story.ref)
    answers = texts(await _press(user, "bot.open.send"))
    assert answers == [t("id", "bot.ask.story")]  # send needs the story first; nothing lost
    assert len(media_of(engine, story.id or 0)) == 1


async def _press(user: FakeUser, key: str) -> list[dict[str, object]]:
    user.press(t("id", key))
    return await user.settle()


async def test_edited_message_is_not_read_again(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(18, "Yuli", "en")
    sent = user.send_text("The tide came at nigth.")
    await user.settle()
    user.edit_text(sent, "The tide came at night.")
    assert texts(await user.settle()) == [t("en", "bot.refuse.edited")]
    assert stories_of(engine, 18)[0].text == "The tide came at nigth."


async def test_a_live_location_moving_is_not_answered_as_an_edit(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(19, "Yuli", "id")
    user.send_text("Air masuk rumah lagi.")
    shared = user.send_location(-10.1399, 123.6468, live_period=900)
    assert "tempat: Oesapa" in texts(await user.settle())[-1]  # saved, with the place named
    for step in range(1, 6):  # the phone sends the moving point every few seconds
        user.move_location(shared, -10.1399 + step / 10000, 123.6468)
    assert texts(await user.settle()) == []  # no "we do not read edits" for each move
    [story] = stories_of(engine, 19)
    assert story.chat_lat == -10.1399  # the point shared first stays the place


async def test_a_button_nobody_knows_is_answered(fake: FakeBotAPI, bot: BotApp) -> None:
    user = fake.user(120, "Yuli", "id")
    foreign = {
        "message_id": 999,
        "chat": user.chat.as_json(),
        "date": 0,
        "text": "from an older bot",
        "reply_markup": {"inline_keyboard": [[{"text": "Lama", "callback_data": "zz:old"}]]},
    }
    query = user.press("Lama", message=foreign)
    answer = await user.answer_to(query)
    assert answer["text"] == t("id", "bot.stale_button") and answer["show_alert"] is True


async def test_a_contributor_button_pressed_in_a_group_tells_nothing(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    yuli = fake.user(121, "Yuli", "id")
    stranger = fake.user(122, "Eve", "id")
    yuli.send_text("Air laut masuk rumah, nomor beta 0812 3765 4410.")
    [saved] = await yuli.settle()
    group = fake.group(-100777, "Warga", members=(yuli, stranger))
    # Yuli's message with her buttons, forwarded into a group where Eve presses one.
    forwarded = {**saved, "chat": group.chat.as_json()}
    label = t("id", "bot.saved.next")
    query = stranger.press(label, message=forwarded, chat=group.chat)
    answer = await stranger.answer_to(query)
    assert answer["text"] == t("id", "bot.stale_button")
    assert await group.chat.settle() == [] and stranger.messages == []
    [story] = stories_of(engine, 121)
    assert story.state == "draft"  # nothing moved on Yuli's behalf
