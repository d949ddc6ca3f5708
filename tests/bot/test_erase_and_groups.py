"""/hapus (one story, all my data) and the bot's manners in groups."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import BotApp
from cli.harness import running_bot, settings_for
from core.config import Settings
from core.i18n import t
from core.models import AuditEvent, Contributor, Submission
from core.storage import MediaStore
from faketelegram import FakeBotAPI, button_texts
from tests.bot.helpers import media_of, press, stories_of, tell_story, texts


def _originals(settings: Settings) -> list[str]:
    folder = MediaStore(settings.data_dir).originals
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


async def test_hapus_one_story_deletes_its_files_and_keeps_a_tombstone(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, bot_settings: Settings
) -> None:
    user = fake.user(901, "Yuli", "id")
    await tell_story(user, photos=2, text="Air laut masuk rumah di Oesapa.")
    await tell_story(user, photos=1, text="Pantai di Oesapa terkikis.")
    first, second = stories_of(engine, 901)
    with Session(engine) as session:  # placed as the pipeline places a story named in its text
        for story_id in (first.id, second.id):
            story = session.get(Submission, story_id)
            assert story is not None
            story.place_id, story.place_name, story.place_kind = "oesapa", "Oesapa", "kelurahan"
            story.place_source = "text"
            session.add(story)
        session.commit()
    assert len(_originals(bot_settings)) == 3
    user.command("hapus")
    [choose] = await user.settle()
    assert choose["text"] == t("id", "bot.erase.choose")
    assert t("id", "bot.erase.all_button") in button_texts(choose)
    label = next(text for text in button_texts(choose) if text.startswith(first.ref))
    user.press(label)
    assert texts(await user.settle()) == [t("id", "bot.erase.confirm_one", ref=first.ref)]
    [answer] = await press(user, "bot.erase.yes_button")
    # The contributor is told what was removed (DESIGN.md, privacy rules).
    assert answer == (
        f"{first.ref} sudah ditarik dan dihapus. 🗑\n• tulisannya, jawaban Anda, tempat dan "
        "temanya, serta keterangan yang tersimpan di foto (waktu, lokasi, kamera)\n"
        "• 2 foto (filenya)\n"
        f"Yang tersisa hanya catatan bahwa {first.ref} pernah ada (kode dan tanggalnya)."
    )

    first, second = stories_of(engine, 901)
    assert first.state == "erased" and first.text is None and second.state != "erased"
    # Nothing the story or its photos said remains: no place, no fingerprint, size or shape.
    assert (first.place_id, first.place_name, first.place_kind, first.place_source) == (None,) * 4
    for row in media_of(engine, first.id or 0):
        kept = (row.path, row.sha256, row.phash, row.size_bytes, row.width, row.height)
        assert kept == (None,) * 6 and row.mime_type is None
    assert second.place_name and all(row.sha256 for row in media_of(engine, second.id or 0))
    assert len(_originals(bot_settings)) == 1  # only the second story's photo is left
    with Session(engine) as session:
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.submission_id == first.id)
        ).all()
    assert "erase" in actions


async def test_hapus_everything_after_confirmation(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, bot_settings: Settings
) -> None:
    user = fake.user(902, "Maria", "en")
    await tell_story(user, photos=1, lang="en", consent="bot.consent.named")
    user.send_photo(b"\xff\xd8\xff not really but a draft photo")
    user.send_text("An open draft too.")
    await user.settle()
    [contributor_id] = {s.contributor_id for s in stories_of(engine, 902)}
    user.command("hapus")
    await user.settle()
    assert await press(user, "bot.erase.keep_button", "en") == [t("en", "bot.erase.kept")]
    user.command("hapus")
    await user.settle()
    assert await press(user, "bot.erase.all_button", "en") == [t("en", "bot.erase.confirm_all")]
    [done] = await press(user, "bot.erase.yes_button", "en")
    assert done.startswith(
        "All your data is deleted. 🗑\n• 2 stories: their text, your answers, their places and "
        "themes, and what their photos recorded about themselves\n"
    )
    assert "\n• 2 photos (the files)\n" in done  # the story's photo and the draft's
    assert "recording" not in done  # only what was there

    assert _originals(bot_settings) == []
    with Session(engine) as session:
        person = session.get(Contributor, contributor_id)
        assert person is not None
        assert person.telegram_user_id is None and person.telegram_chat_id is None
        assert person.public_name is None and person.erased_at is not None
        tombstones = session.exec(
            select(Submission).where(Submission.contributor_id == contributor_id)
        ).all()
    assert tombstones and all(s.state == "erased" and s.text is None for s in tombstones)
    # Writing again starts afresh, as a new contributor.
    user.send_text("Halo lagi")
    await user.settle()
    assert stories_of(engine, 902)[0].contributor_id != contributor_id


async def test_groups_point_to_the_private_chat(fake: FakeBotAPI, bot: BotApp) -> None:
    user = fake.user(903, "Yuli", "id")
    group = fake.group(-100500, "Warga Oesapa", members=(user,))
    group.send_text(user, "air naik lagi di sini")  # ordinary chatter: the bot stays quiet
    group.send_text(user, "/start@OtherBot")  # another bot's command
    assert await group.chat.settle() == []
    group.send_text(user, "/start")
    group.send_text(user, f"@{fake.bot_username} mau cerita")
    replies = await group.chat.settle()
    assert texts(replies) == [t("id", "bot.group.private_only")] * 2
    [button] = replies[0]["reply_markup"]["inline_keyboard"][0]
    assert button["url"] == f"https://t.me/{fake.bot_username}"
    assert user.messages == []  # nothing was collected


async def test_the_moderators_group_is_left_to_moderation(
    fake: FakeBotAPI, settings: Settings, engine: Engine
) -> None:
    moderators = -100999
    configured = settings_for(fake, settings, moderator_chat_id=moderators)
    user = fake.user(904, "Moderator", "id")
    group = fake.group(moderators, members=(user,), admins=(user,))
    async with running_bot(fake, configured, engine):
        group.send_text(user, "/start")
        group.send_text(user, f"@{fake.bot_username} halo")
        assert await group.chat.settle() == []
