"""Whole conversations through python-telegram-bot's HTTP stack against the fake Bot API."""

from __future__ import annotations

import asyncio
import hashlib

from sqlalchemy.engine import Engine
from sqlalchemy.exc import NoResultFound

from bot.app import BotApp
from core.config import Settings
from core.i18n import t
from core.storage import MediaStore
from faketelegram import FakeBotAPI
from faketelegram.images import OESAPA, jpeg
from tests.bot.helpers import media_of, press, stories_of, tell_story, texts


async def _wait_state(engine: Engine, user_id: int, state: str) -> None:
    for _ in range(100):
        if stories_of(engine, user_id)[-1].state == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"story never reached {state}: {stories_of(engine, user_id)[-1].state}")


async def test_kupang_malay_album_then_text_then_location(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, bot_settings: Settings
) -> None:
    user = fake.user(101, "Yuli", "id")
    user.command("start")
    welcome = await user.next_reply()
    assert "Suara Pesisir" in welcome["text"] and "/hapus" in welcome["text"]

    photos = [jpeg(color=(30 * i, 90, 150), label=f"air pasang {i}") for i in range(3)]
    user.send_album(photos)  # photos first, text later
    user.send_text("Semalam air pasang masuk rumah lai, sampe lutut. Beta pung dapur su rusak.")
    answers = texts(await user.settle())
    assert len(answers) == 1  # one answer for the whole burst
    assert "3 foto" in answers[0]

    story = stories_of(engine, 101)[0]
    assert story.state == "draft" and story.text and "air pasang" in story.text
    rows = media_of(engine, story.id or 0)
    assert [row.kind for row in rows] == ["photo"] * 3
    assert len({row.media_group_id for row in rows}) == 1
    store = MediaStore(bot_settings.data_dir)
    for row in rows:
        assert row.file_unique_id and row.path and row.sha256
        data = store.absolute(row.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.sha256

    assert t("id", "bot.ask.place") in await press(user, "bot.saved.next")
    user.send_location(*OESAPA)
    answers = texts(await user.settle())
    assert answers[0] == t("id", "bot.place.saved", place="Oesapa Barat")  # as understood
    assert answers[-1] == t("id", "bot.ask.consent")
    summary = await press(user, "bot.consent.anonymous")
    assert "SP-" in summary[-1] and "3 foto" in summary[-1]
    sent = await press(user, "bot.summary.send")
    ref = stories_of(engine, 101)[0].ref
    assert sent == [t("id", "bot.sent", ref=ref)]
    await _wait_state(engine, 101, "pending_review")
    story = stories_of(engine, 101)[0]
    assert story.consent == "anonymous" and story.consent_version == bot_settings.consent_version
    assert story.chat_lat == OESAPA[0] and story.submitted_at is not None


async def test_a_slow_download_in_a_burst_still_gets_one_answer(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    # On two bars of signal a photo takes far longer than the quiet time: the answer must wait
    # for it rather than go out once for the text and again for the photo.
    fake.download_delay = 0.5
    user = fake.user(111, "Yuli", "id")
    user.send_text("Air pasang masuk rumah lai, sampe lutut.")
    user.send_photo(jpeg(label="lutut"))
    answers = texts(await user.settle())
    assert len(answers) == 1 and "1 foto" in answers[0]
    assert [row.kind for row in media_of(engine, stories_of(engine, 111)[0].id or 0)] == ["photo"]


async def test_english_files_keep_their_exif_and_named_consent(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, bot_settings: Settings
) -> None:
    user = fake.user(202, "Maria", "en")
    original = jpeg(gps=OESAPA, label="seawall")
    user.send_document(original, file_name="IMG_0412.jpg", mime_type="image/jpeg")
    user.send_text("The new seawall at Oesapa cracked after last week's high tide.")
    answers = texts(await user.settle())
    # English, from language_code; only what is there, in plain words
    assert answers == [answers[0]] and answers[0].startswith("✅ Saved: your text and 1 photo.")

    assert await press(user, "bot.saved.next", "en") == [t("en", "bot.ask.place")]
    user.send_text("Oesapa beach, near the fish market")
    answers = texts(await user.settle())
    assert answers[-1] == t("en", "bot.ask.consent")
    assert await press(user, "bot.consent.named", "en") == [t("en", "bot.ask.name")]
    summary = await press(user, "bot.name.use", "en", name="Maria")
    assert "Maria" in summary[-1] and "📍 Pantai Oesapa\n" in summary[-1]  # as understood
    await press(user, "bot.summary.send", "en")

    story = stories_of(engine, 202)[0]
    assert story.state in ("received", "pending_review")
    assert story.consent == "named" and story.place_text == "Oesapa beach, near the fish market"
    [row] = media_of(engine, story.id or 0)
    assert row.kind == "document" and row.file_name == "IMG_0412.jpg"
    kept = MediaStore(bot_settings.data_dir).absolute(row.path or "").read_bytes()
    assert kept == original  # byte for byte: the GPS EXIF is still there for the pipeline


async def test_voice_note_is_a_story_and_place_can_be_skipped(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(303, "Ama", "id")
    user.send_voice(b"OggS\x00\x02" + b"\x00" * 200, duration=42)
    answers = texts(await user.settle())
    assert answers[0].startswith(t("id", "bot.saved.body", what="1 rekaman suara"))
    assert await press(user, "bot.saved.next") == [t("id", "bot.ask.place")]
    user.send_text("Lewati")
    answers = texts(await user.settle())
    assert answers == [t("id", "bot.place.skipped"), t("id", "bot.ask.consent")]
    summary = await press(user, "bot.consent.internal")
    assert t("id", "bot.summary.place_skipped") in summary[-1]
    story = stories_of(engine, 303)[0]
    [row] = media_of(engine, story.id or 0)
    assert row.kind == "voice" and row.duration_seconds == 42 and row.path
    assert story.place_skipped and story.consent == "internal"


async def test_place_before_text_and_kirim_asks_for_what_is_missing(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(404, "Nona", "id")
    user.send_location(*OESAPA)
    await user.settle()
    user.command("kirim")
    assert texts(await user.settle()) == [t("id", "bot.ask.story")]
    user.send_text("Hujan tidak turun tiga bulan, sumur kering.")
    await user.settle()
    user.command("kirim")  # place is known: straight to consent
    assert texts(await user.settle()) == [t("id", "bot.ask.consent")]
    await press(user, "bot.consent.anonymous")
    user.command("kirim")
    answers = texts(await user.settle())
    ref = stories_of(engine, 404)[0].ref
    assert answers == [t("id", "bot.sent", ref=ref)]


async def test_restart_mid_story_resumes(
    fake: FakeBotAPI, bot_settings: Settings, engine: Engine
) -> None:
    from cli.harness import running_bot

    user = fake.user(505, "Yuli", "id")
    async with running_bot(fake, bot_settings, engine):
        user.send_photo(jpeg(label="sebelum"))
        await user.settle()
        await press(user, "bot.saved.next")  # the bot asks for the story text
    # The bot is down; the contributor keeps going, hours later.
    user.send_text("Ini ceritanya: rumah di pinggir pantai kena ombak.")
    async with running_bot(fake, bot_settings, engine):
        answers = texts(await user.settle())
        assert "1 foto" in answers[0]
        assert await press(user, "bot.saved.next") == [t("id", "bot.ask.place")]
        user.send_text("Pasir Panjang")
        await user.settle()
        summary = await press(user, "bot.consent.anonymous")
    assert "1 foto" in summary[-1] and "Pasir Panjang" in summary[-1]
    [story] = stories_of(engine, 505)
    assert story.state == "draft" and len(media_of(engine, story.id or 0)) == 1


async def test_status_bahasa_and_batal(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, bot_settings: Settings
) -> None:
    user = fake.user(606, "Yuli", "id")
    user.command("status")
    assert texts(await user.settle()) == [t("id", "bot.status.none")]
    await tell_story(user)
    # The sent story is ingested in the background: let it settle so /status and the database
    # are read in the same state.
    await _wait_state(engine, 606, "pending_review")
    user.send_text("Cerita kedua, belum selesai.")
    await user.settle()
    user.command("bahasa")
    assert texts(await user.settle()) == [t("id", "bot.language.choose")]
    user.press("English")
    assert texts(await user.settle()) == [t("en", "bot.language.set")]
    user.command("status")
    [status] = texts(await user.settle())
    first, second = stories_of(engine, 606)
    assert f"{first.ref}" in status and t("en", f"core.state.{first.state}") in status
    assert f"{second.ref}" in status and t("en", "core.state.draft") in status
    user.command("batal")
    assert texts(await user.settle()) == [t("en", "bot.dropped", ref=second.ref)]
    assert stories_of(engine, 606)[1].state == "erased"
    user.command("bahasa", "id")
    assert texts(await user.settle()) == [t("id", "bot.language.set")]


async def test_second_story_while_one_is_open(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(707, "Yuli", "id")
    user.send_text("Cerita pertama tentang banjir rob.")
    await user.settle()
    user.command("start")
    [question] = texts(await user.settle())
    first = stories_of(engine, 707)[0]
    assert question == t("id", "bot.open.question", ref=first.ref)
    assert await press(user, "bot.open.continue") == [t("id", "bot.open.continuing")]
    user.command("start")
    await user.settle()
    answers = await press(user, "bot.open.discard")
    assert answers == [t("id", "bot.dropped", ref=first.ref), t("id", "bot.start")]
    user.send_text("Cerita baru tentang panas.")
    await user.settle()
    first, second = stories_of(engine, 707)
    assert first.state == "erased" and second.state == "draft" and second.text


async def test_old_button_from_a_finished_story_gets_a_kind_answer(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(808, "Yuli", "id")
    user.send_text("Pohon bakau ditebang di Oesapa Barat.")
    [ack] = await user.settle()
    user.command("kirim")  # not through the ack's button: it stays on screen
    await user.settle()
    user.send_text("Lewati")
    await user.settle()
    await press(user, "bot.consent.anonymous")
    await press(user, "bot.summary.send")
    query = user.press(t("id", "bot.saved.next"), message=ack)
    answer = await user.answer_to(query)
    assert answer == {"text": t("id", "bot.stale_button"), "show_alert": True}
    assert await user.settle() == []
    assert stories_of(engine, 808)[0].state in ("received", "pending_review")


async def test_change_from_the_summary(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, bot_settings: Settings
) -> None:
    user = fake.user(909, "Yuli", "id")
    user.send_photo(jpeg(color=(1, 2, 3)))
    user.send_text("Teks pertama.")
    await user.settle()
    await press(user, "bot.saved.next")
    user.send_text("Oesapa")
    await user.settle()
    await press(user, "bot.consent.anonymous")
    assert await press(user, "bot.summary.change") == [t("id", "bot.change.choose")]
    assert await press(user, "bot.change.text") == [t("id", "bot.change.text_prompt")]
    user.send_text("Teks yang benar.")
    await user.settle()
    [summary] = await press(user, "bot.saved.next")  # place and consent kept: the summary
    assert "Teks yang benar." in summary and "Teks pertama" not in summary

    await press(user, "bot.summary.change")
    assert await press(user, "bot.change.photos") == [t("id", "bot.change.photos_prompt", count=1)]
    assert MediaStore(bot_settings.data_dir).originals.exists()
    assert not any(p.is_file() for p in MediaStore(bot_settings.data_dir).originals.rglob("*"))
    user.send_photo(jpeg(color=(9, 9, 9)))
    await user.settle()
    await press(user, "bot.saved.next")  # back to the summary
    await press(user, "bot.summary.change")
    assert await press(user, "bot.change.place") == [t("id", "bot.ask.place")]
    user.send_text("Lewati")
    await user.settle()
    await press(user, "bot.summary.change")
    assert await press(user, "bot.change.consent") == [t("id", "bot.ask.consent")]
    summary = (await press(user, "bot.consent.internal"))[-1]
    assert t("id", "bot.consent.internal") in summary and "1 foto" in summary
    [story] = stories_of(engine, 909)
    assert story.place_skipped and story.place_text is None and story.consent == "internal"


async def test_a_photo_after_the_summary_is_added_and_said_so(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(910, "Yuli", "id")
    user.send_text("Cerita.")
    await user.settle()
    user.command("kirim")
    await user.settle()
    user.send_text("Lewati")
    await user.settle()
    await press(user, "bot.consent.anonymous")  # the summary is showing
    user.send_photo(jpeg())
    [answer] = texts(await user.settle())
    assert answer.startswith(t("id", "bot.saved.after_summary")) and "1 foto" in answer
    summary = await press(user, "bot.saved.next")
    assert "1 foto" in summary[-1]


async def test_a_long_text_while_the_place_is_asked_is_story_not_a_place(
    fake: FakeBotAPI, bot: BotApp, engine: Engine
) -> None:
    user = fake.user(808, "Yuli", "id")
    user.send_text("Air masuk rumah lagi.")
    await user.settle()
    user.command("kirim")
    assert texts(await user.settle()) == [t("id", "bot.ask.place")]
    more = "Semalam air naik sampai lutut, anak-anak tidur di rumah tetangga. " * 6  # ~400 chars
    user.send_text(more)
    answers = texts(await user.settle())
    [story] = stories_of(engine, 808)
    # Nothing cut off: the whole message joined the story, and the place is asked again.
    assert story.text == "Air masuk rumah lagi.\n\n" + more.strip()
    assert story.place_text is None and not story.place_skipped
    assert answers[-1] == t("id", "bot.ask.place")


async def test_a_stop_right_after_a_message_still_answers_it(
    fake: FakeBotAPI, bot_settings: Settings, engine: Engine
) -> None:
    from cli.harness import running_bot

    slow = bot_settings.model_copy(update={"bot_ack_delay_seconds": 60.0})
    user = fake.user(909, "Yuli", "id")
    async with running_bot(fake, slow, engine):
        user.send_text("Air masuk rumah lagi semalam.")
        for _ in range(100):  # saved, the answer still waiting for the chat to go quiet
            if stories_of_or_none(engine, 909):
                break
            await asyncio.sleep(0.05)
    # The bot stopped (a restart): the contributor was still told the story is safe.
    [saved] = [m for m in fake.calls_of("sendMessage") if m["chat_id"] == 909]
    assert saved["text"].startswith(t("id", "bot.saved.body", what="tulisan"))


def stories_of_or_none(engine: Engine, user_id: int) -> list[object]:
    try:
        return list(stories_of(engine, user_id))
    except NoResultFound:  # no contributor row yet
        return []
