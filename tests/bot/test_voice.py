"""A story told in a voice note, through the real bot and the fake Telegram: the contributor's
answers, the moderators' card with the recording and its automatic transcript, correcting it,
and /hapus taking the recording off the group too."""

from __future__ import annotations

import html

import pytest
from sqlmodel import Session, select

from core import taxonomy
from core.i18n import t
from core.models import Media, Submission
from core.storage import MediaStore
from faketelegram import button_texts
from faketelegram.images import OESAPA, jpeg
from tests.bot.helpers import media_of, press, stories_of, texts
from tests.bot.test_moderators import World, card_of, row_of, until
from tests.bot.test_moderators import world as moderators_world  # noqa: F401 - the fixture
from tests.voice import SENTENCES, clip, words


@pytest.fixture
def w(moderators_world: World) -> World:  # noqa: F811 - the imported fixture
    """The moderators' group of `test_moderators` with the bot running."""
    return moderators_world


async def test_a_voice_story_reaches_the_group_heard_transcribed_and_corrected(w: World) -> None:
    yuli = w.yuli
    yuli.send_voice(clip("s6"), duration=4)
    [saved] = texts(await yuli.settle())
    assert saved.startswith(t("id", "bot.saved.body", what="1 rekaman suara"))
    await press(yuli, "bot.saved.next")
    yuli.send_location(*OESAPA)
    [place, _consent] = texts(await yuli.settle())
    assert place == t("id", "bot.place.saved", place="Oesapa Barat")  # the kelurahan, not the point
    [summary] = await press(yuli, "bot.consent.anonymous")
    assert "(hanya rekaman suara)" in summary and "1 rekaman suara" in summary
    await press(yuli, "bot.summary.send")
    [story] = stories_of(w.engine, yuli.id)

    card = await until(lambda: card_of(w, story.id or 0), timeout=60)
    # The recording itself, as a voice message sent from the private original, before the card.
    [voice] = [m for m in w.group.chat.replies if m.get("voice")]
    assert w.group.chat.voices() == [clip("s6")]
    assert voice["caption"] == f"🎙 {story.ref} · 0:04" and "forward_origin" not in voice
    assert voice["message_id"] < card["message_id"]
    assert not w.fake.calls_of("forwardMessage")
    text = html.unescape(card["text"])
    assert "🎙 1 pesan suara (0:04)" in text
    assert "🗣 Transkrip otomatis:" in text and "mangrove" in words(text)
    assert "cerita lewat suara: belum bisa dijadwalkan" in text
    assert taxonomy.label("ekosistem-pesisir", "id") in text  # tagged from what was said
    assert {"✏️ Edit teks", "🗣 Pakai transkrip"} <= set(button_texts(card))

    # ✏️ offers the transcript to copy and correct; the correction becomes the public text.
    w.group.press(w.ana, "✏️ Edit teks", message=card)
    [prompt] = await until(
        lambda: [m for m in w.group.chat.replies if "untuk disalin" in m.get("text", "")]
    )
    assert "mangrove" in words(prompt["text"]) and "Transkrip otomatis" in prompt["text"]
    w.group.send_text(w.ana, SENTENCES["s6"])
    await until(lambda: row_of(w, story.id or 0).public_text == SENTENCES["s6"])
    card = await until(
        lambda: (c := card_of(w, story.id or 0)) and "Teks publik" in c["text"] and c
    )
    assert "🗣 Pakai transkrip" not in button_texts(card)
    assert "belum bisa dijadwalkan" not in card["text"]

    # /hapus: the recording leaves the group with the story; file and transcript are erased.
    yuli.command("hapus", story.ref)
    await yuli.settle()
    [done] = await press(yuli, "bot.erase.yes_button")
    assert "\n• 1 rekaman suara (filenya) beserta teks yang diketik otomatis darinya\n" in done
    assert "foto (filenya)" not in done
    await until(lambda: not w.group.chat.voices())
    [row] = media_of(w.engine, story.id or 0)
    assert (row.path, row.transcript, row.transcript_status) == (None, None, None)
    assert not list((w.settings.data_dir / "private").rglob("*.ogg"))


async def test_saved_line_names_only_what_is_there_and_batal_asks_first(w: World) -> None:
    yuli = w.yuli
    yuli.send_album([jpeg(color=(30 * k, 90, 120)) for k in range(3)])
    yuli.send_voice(clip("s4"), duration=5)
    yuli.send_text("Rob lagi di Pasir Panjang.")
    answers = texts(await yuli.settle())
    assert answers[-1].startswith("✅ Tersimpan: tulisan, 3 foto dan 1 rekaman suara.")
    yuli.send_text("Lewati")  # not asked for a place yet: more of the story
    await yuli.settle()
    await press(yuli, "bot.saved.next")
    yuli.send_text("Pasir Panjang")
    [place, _consent] = texts(await yuli.settle())
    assert place == t("id", "bot.place.saved", place="Pasir Panjang")

    # /batal does not erase three photos, a recording and the text at once: it asks first.
    yuli.command("batal")
    [ask] = texts(await yuli.settle())
    [story] = stories_of(w.engine, yuli.id)
    what = "tulisan, 3 foto dan 1 rekaman suara"
    assert ask == t("id", "bot.drop.confirm", ref=story.ref, what=what)
    assert await press(yuli, "bot.drop.no") == [t("id", "bot.drop.kept")]
    assert stories_of(w.engine, yuli.id)[0].state == "draft"
    yuli.command("batal")
    await yuli.settle()
    assert await press(yuli, "bot.drop.yes") == [t("id", "bot.dropped", ref=story.ref)]
    assert stories_of(w.engine, yuli.id)[0].state == "erased"
    store = MediaStore(w.settings.data_dir)
    with Session(w.engine) as session:
        rows = session.exec(select(Media).where(Media.submission_id == story.id)).all()
    assert all(row.path is None for row in rows)
    assert not [p for p in store.originals.rglob("*") if p.is_file()]
    # A draft of one line goes at once.
    yuli.send_text("Coba dulu.")
    await yuli.settle()
    yuli.command("batal")
    second = stories_of(w.engine, yuli.id)[1]
    assert texts(await yuli.settle()) == [t("id", "bot.dropped", ref=second.ref)]
    with Session(w.engine) as session:
        assert session.get(Submission, second.id).state == "erased"  # type: ignore[union-attr]


async def test_a_sound_file_telegram_cannot_play_as_voice_goes_as_a_file(w: World) -> None:
    """sendVoice takes OGG/Opus, MP3 or M4A: a WAV recording is sent to the group as a file."""
    from tests.bot.test_moderators import story

    story_id = story(w, "SP-WAV1", media=0, text=None)
    store = MediaStore(w.settings.data_dir)
    wav = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40
    with Session(w.engine) as session:
        for position, (data, mime, kind) in enumerate(
            [(clip("s1"), "audio/ogg", "voice"), (wav, "audio/wav", "audio")]
        ):
            stored = store.put_original(data, suffix=".ogg" if kind == "voice" else ".wav")
            session.add(
                Media(
                    submission_id=story_id,
                    kind=kind,
                    position=position,
                    sha256=stored.sha256,
                    path=stored.relative,
                    mime_type=mime,
                    duration_seconds=4 if kind == "voice" else None,
                    transcript_status="failed" if kind == "audio" else None,
                )
            )
        session.commit()
    card = await until(lambda: card_of(w, story_id))
    assert w.group.chat.voices() == [clip("s1")]
    [document] = [m for m in w.group.chat.replies if m.get("document")]
    assert w.fake.file_bytes(document["document"]["file_id"]) == wav
    assert document["caption"] == "🎙 SP-WAV1 · ?"
    text = html.unescape(card["text"])
    assert "🎙 2 pesan suara (0:04, ?)" in text
    assert "🗣 Transkrip otomatis (1/2): belum ada" in text
    assert "🗣 Transkrip otomatis (2/2): gagal dibuat; dengarkan rekamannya" in text
