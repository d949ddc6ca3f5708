"""The moderators' group through the real bot and the fake Bot API: cards, buttons, replies."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import moderation_jobs
from bot.app import BotApp
from bot.moderators import desk
from cli.harness import running_bot, settings_for
from core.clock import utcnow
from core.config import Settings
from core.delivery_table import Delivery
from core.i18n import t
from core.models import AuditEvent, Contributor, Media, Notification, Submission
from core.states import SubmissionState
from core.storage import MediaStore
from faketelegram import FakeBotAPI, FakeGroup, FakeUser, button_texts
from faketelegram.images import OESAPA, jpeg
from publishers.campaigns import ensure_default_campaign
from publishers.channels_config import add_channel
from publishers.scheduling import schedule_story
from tests.jpeg_segments import metadata_in
from tests.moderation.conftest import add_story, store_late_photo

GROUP_ID = -1009876543210


@dataclass
class World:
    """The scripted people and the running bot."""

    fake: FakeBotAPI
    app: BotApp
    settings: Settings
    engine: Engine
    group: FakeGroup
    ana: FakeUser  # group admin
    budi: FakeUser  # in PESISIR_MODERATOR_IDS
    eve: FakeUser  # an ordinary member
    yuli: FakeUser  # a contributor


@pytest.fixture
async def world(fake: FakeBotAPI, settings: Settings, engine: Engine) -> AsyncIterator[World]:
    """A moderators' group with two moderators and a bystander, and the bot running."""
    ana = fake.user(501, "Ana")
    budi = fake.user(502, "Budi")
    eve = fake.user(503, "Eve")
    yuli = fake.user(601, "Yuli")
    group = fake.group(GROUP_ID, members=(budi, eve), admins=(ana,))
    configured = settings_for(
        fake,
        settings,
        bot_ack_delay_seconds=0.05,
        moderator_chat_id=GROUP_ID,
        moderator_ids=[budi.id],
        moderation_poll_seconds=0.05,
        dispatch_interval_seconds=0.05,  # how often the bot looks for late posts
    )
    async with running_bot(fake, configured, engine) as application:
        yield World(fake, application, configured, engine, group, ana, budi, eve, yuli)


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Wait until `predicate()` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise TimeoutError("condition not met")


def story(w: World, ref: str, *, renditions: int = 0, media: int = 1, **options: Any) -> int:
    """A story in review by Yuli, with `renditions` web renditions on disk."""
    with Session(w.engine) as session:
        person = session.exec(
            select(Contributor).where(Contributor.telegram_user_id == w.yuli.id)
        ).first()
        if person is None:
            person = Contributor(telegram_user_id=w.yuli.id, telegram_chat_id=w.yuli.id)
            session.add(person)
            session.commit()
        contributor_id = person.id
    story_id = add_story(w.engine, ref=ref, contributor_id=contributor_id, media=media, **options)
    store = MediaStore(w.settings.data_dir)
    with Session(w.engine) as session:
        items = session.exec(select(Media).where(Media.submission_id == story_id)).all()
        for index, item in enumerate(items[:renditions]):
            folder = store.rendition_dir(item.sha256 or "00")
            folder.mkdir(parents=True, exist_ok=True)
            out = io.BytesIO()
            Image.new("RGB", (32, 24), (10 * index, 90, 160)).save(out, "JPEG")
            (folder / "web.jpg").write_bytes(out.getvalue())
            item.renditions = {"web": {"path": store.relative(folder / "web.jpg"), "width": 32}}
            session.add(item)
        session.commit()
    return story_id


def card_of(w: World, story_id: int) -> dict[str, Any] | None:
    """The card message of a story as the group sees it now (edits applied)."""
    with Session(w.engine) as session:
        row = session.get(Submission, story_id)
        message_id = None if row is None else row.card_message_id
    for message in w.group.chat.replies:
        if message["message_id"] == message_id:
            return message
    return None


def row_of(w: World, story_id: int) -> Submission:
    with Session(w.engine) as session:
        found = session.get(Submission, story_id)
        assert found is not None
        return found


async def contributor_told(w: World, words: str) -> str:
    """Wait for a message to Yuli containing `words`."""
    found = await until(lambda: [m["text"] for m in w.yuli.messages if words in m.get("text", "")])
    return str(found[-1])


async def test_card_with_album_flags_and_approval(world: World) -> None:
    w = world
    story_id = story(
        w,
        "SP-CARD",
        renditions=2,
        media=2,
        consent="named",
        exact_lat=-10.1466,
        exact_lon=123.6348,
        flags=[
            {"kind": "phone", "span": [30, 42], "detail": None},
            {"kind": "nik", "span": [50, 66], "detail": None},
            {"kind": "photo_outside_ntt", "span": None, "detail": "GPS"},
        ],
        spam_score=0.12,
    )
    card = await until(lambda: card_of(w, story_id))
    albums = [m for m in w.group.chat.replies if m.get("media_group_id")]
    assert len(albums) == 2
    assert all("photo" in m for m in albums)
    text = card["text"]
    assert "SP-CARD" in text and "Air rob masuk rumah" in text
    assert "Kontributor #" in text and "0 cerita sebelumnya, 0 terbit" in text
    assert "Banjir &amp; rob" in text or "Banjir & rob" in text
    assert "“rob”" in text
    assert "Oesapa" in text and "dari teks" in text
    assert "openstreetmap.org/?mlat=-10.146600&amp;mlon=123.634800" in text
    assert "data pribadi di teks: NIK, nomor telepon" in text
    assert "GPS foto di luar NTT" in text and "skor spam 0.12" in text
    assert "terbit dengan nama" in text
    assert str(w.yuli.id) not in text
    assert "✅ Setujui" in button_texts(card)

    query = w.group.press(w.ana, "✅ Setujui", message=card)
    assert (await w.ana.answer_to(query))["text"] == "Beres."
    await until(lambda: "Ana: menyetujui" in (card_of(w, story_id) or {}).get("text", ""))
    assert row_of(w, story_id).state == "approved"
    told = await contributor_told(w, "disetujui")
    assert "SP-CARD" in told


async def test_missing_renditions_send_no_photo(world: World) -> None:
    w = world
    story_id = story(w, "SP-NOPH", renditions=0, media=2)
    card = await until(lambda: card_of(w, story_id))
    assert "2 foto belum punya versi aman" in card["text"]
    assert not [m for m in w.group.chat.replies if "photo" in m]


@pytest.mark.parametrize(
    ("label", "code", "told"),
    [
        ("Bukan tentang iklim", "not_climate", "bukan tentang iklim"),
        ("Foto tidak jelas", "photo_unclear", "fotonya kurang jelas"),
        ("Duplikat", "duplicate", "sudah pernah dikirim"),
        ("Bisa membahayakan atau membuat seseorang dikenali", "could_endanger", "dikenali"),
        ("Tidak bisa diverifikasi", "cannot_verify", "memastikan kebenarannya"),
    ],
)
async def test_reject_with_each_reason(world: World, label: str, code: str, told: str) -> None:
    w = world
    story_id = story(w, "SP-REJ")
    card = await until(lambda: card_of(w, story_id))
    w.group.press(w.budi, "❌ Tolak", message=card)
    reasons = await until(lambda: (c := card_of(w, story_id)) and label in button_texts(c) and c)
    query = w.group.press(w.budi, label, message=reasons)
    await w.budi.answer_to(query)
    await until(lambda: row_of(w, story_id).state == "rejected")
    assert row_of(w, story_id).reject_reason == code
    message = await contributor_told(w, "tidak kami terbitkan")
    assert told in message


async def test_reject_other_takes_the_typed_reason(world: World) -> None:
    w = world
    story_id = story(w, "SP-OTH")
    card = await until(lambda: card_of(w, story_id))
    w.group.press(w.ana, "❌ Tolak", message=card)
    reasons = await until(
        lambda: (c := card_of(w, story_id)) and "Lainnya (ketik)" in button_texts(c) and c
    )
    w.group.press(w.ana, "Lainnya (ketik)", message=reasons)
    prompt = await until(
        lambda: [m for m in w.group.chat.replies if "ketik alasan" in m.get("text", "")]
    )
    assert "SP-OTH" in prompt[-1]["text"]
    w.group.send_text(w.ana, "Ceritanya sudah dimuat di koran minggu lalu")
    await until(lambda: row_of(w, story_id).state == "rejected")
    assert row_of(w, story_id).reject_note == "Ceritanya sudah dimuat di koran minggu lalu"
    message = await contributor_told(w, "tidak kami terbitkan")
    assert "sudah dimuat di koran" in message


async def test_question_and_the_contributors_answer(world: World) -> None:
    w = world
    story_id = story(w, "SP-ASK")
    card = await until(lambda: card_of(w, story_id))
    w.group.press(w.ana, "❓ Tanya", message=card)
    await until(
        lambda: [m for m in w.group.chat.replies if "ketik pertanyaan" in m.get("text", "")]
    )
    w.group.send_text(w.ana, "Jam berapa air mulai masuk?")
    await until(lambda: row_of(w, story_id).state == "needs_info")
    question = await contributor_told(w, "Jam berapa air mulai masuk?")
    assert "SP-ASK" in question
    await until(lambda: "Jam berapa air" in (card_of(w, story_id) or {}).get("text", ""))

    # The contributor's next text in the private chat is the answer.
    w.yuli.send_text("Sekitar jam dua pagi")
    await until(lambda: "Sekitar jam dua pagi" in (card_of(w, story_id) or {}).get("text", ""))
    assert row_of(w, story_id).state == "pending_review"
    await contributor_told(w, "jawaban Anda untuk SP-ASK")


async def test_edit_text_themes_and_place(world: World) -> None:
    w = world
    story_id = story(w, "SP-EDT")
    card = await until(lambda: card_of(w, story_id))
    w.group.press(w.budi, "✏️ Edit teks", message=card)
    await until(
        lambda: [m for m in w.group.chat.replies if "teks publik baru" in m.get("text", "")]
    )
    w.group.send_text(w.budi, "Rob masuk ke rumah warga Oesapa.")
    await until(lambda: row_of(w, story_id).public_text == "Rob masuk ke rumah warga Oesapa.")
    assert row_of(w, story_id).text == "Air rob masuk rumah di Oesapa tadi malam."

    card = await until(lambda: (c := card_of(w, story_id)) and "Teks publik" in c["text"] and c)
    w.group.press(w.budi, "🏷 Tema", message=card)
    menu = await until(
        lambda: (c := card_of(w, story_id)) and "Abrasi & naiknya laut" in button_texts(c) and c
    )
    assert "✓ Banjir & rob" in button_texts(menu)
    w.group.press(w.budi, "Abrasi & naiknya laut", message=menu)
    menu = await until(
        lambda: (c := card_of(w, story_id)) and "✓ Abrasi & naiknya laut" in button_texts(c) and c
    )
    w.group.press(w.budi, "✓ Banjir & rob", message=menu)
    await until(lambda: [t["slug"] for t in row_of(w, story_id).themes] == ["abrasi"])
    menu = await until(
        lambda: (c := card_of(w, story_id)) and "Banjir & rob" in button_texts(c) and c
    )
    w.group.press(w.budi, "⬅️ Kembali", message=menu)
    card = await until(lambda: (c := card_of(w, story_id)) and "📍 Tempat" in button_texts(c) and c)

    w.group.press(w.budi, "📍 Tempat", message=card)
    menu = await until(
        lambda: (c := card_of(w, story_id)) and "⌨️ Ketik nama tempat" in button_texts(c) and c
    )
    w.group.press(w.budi, "⌨️ Ketik nama tempat", message=menu)
    await until(
        lambda: [m for m in w.group.chat.replies if "ketik nama tempat" in m.get("text", "")]
    )
    w.group.send_text(w.budi, "pantai lasiana")  # as typed on a phone: found in the gazetteer
    await until(lambda: row_of(w, story_id).place_name == "Pantai Lasiana")
    assert row_of(w, story_id).place_source == "moderator"
    assert row_of(w, story_id).place_id == "pantai-lasiana"
    card = await until(lambda: (c := card_of(w, story_id)) and "Pantai Lasiana" in c["text"] and c)
    assert "Budi: mengubah tempat" in card["text"]
    with Session(w.engine) as session:
        actions = [
            e.action
            for e in session.exec(select(AuditEvent).where(AuditEvent.submission_id == story_id))
        ]
    assert actions[-4:] == ["edit_text", "themes", "themes", "place"]


async def test_a_demoted_admin_loses_the_buttons_at_once(world: World) -> None:
    w = world
    story_id = story(w, "SP-DEM")
    card = await until(lambda: card_of(w, story_id))
    query = w.group.press(w.ana, "🏷 Tema", message=card)  # Ana is an admin: allowed, cached
    assert (await w.ana.answer_to(query))["text"] in (None, "")
    card = await until(lambda: card_of(w, story_id))
    w.group.set_admin(w.ana, False)  # Telegram sends a chat_member update
    w.group.set_admin(w.eve, True)
    await w.group.chat.settle()
    query = w.group.press(w.ana, "⬅️ Kembali", message=card)
    assert (await w.ana.answer_to(query))["text"] == t("id", "moderation.answer.not_allowed")
    card = await until(lambda: card_of(w, story_id))
    query = w.group.press(w.eve, "⬅️ Kembali", message=card)
    assert (await w.eve.answer_to(query))["text"] in (None, "")


async def test_non_moderator_is_refused_and_audited(world: World) -> None:
    w = world
    story_id = story(w, "SP-EVE")
    card = await until(lambda: card_of(w, story_id))
    query = w.group.press(w.eve, "✅ Setujui", message=card)
    answer = await w.eve.answer_to(query)
    assert answer["text"] == "Maaf, hanya moderator yang boleh melakukan ini."
    assert answer["show_alert"] is True
    assert row_of(w, story_id).state == "pending_review"
    with Session(w.engine) as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "refused")).one()
    # Audited by a stable pseudonym: neither Eve's name nor her Telegram id.
    assert (refused.reason, refused.submission_id) == ("approve", story_id)
    assert re.fullmatch(r"telegram:anon-[0-9a-f]{8}", refused.actor)
    query = w.group.press(w.eve, "✅ Setujui", message=card)
    await w.eve.answer_to(query)
    with Session(w.engine) as session:
        actors = session.exec(select(AuditEvent.actor).where(AuditEvent.action == "refused")).all()
    assert actors == [refused.actor] * 2


async def test_a_demoted_admin_cannot_act_while_telegram_cannot_list_the_admins(
    world: World,
) -> None:
    w = world
    story_id = story(w, "SP-FLK")
    card = await until(lambda: card_of(w, story_id))
    query = w.group.press(w.ana, "🏷 Tema", message=card)  # Ana is an admin: allowed, cached
    assert (await w.ana.answer_to(query))["text"] in (None, "")
    card = await until(lambda: card_of(w, story_id))
    w.group.set_admin(w.ana, False)
    await w.group.chat.settle()
    w.fake.fail_next("getChatAdministrators", status=502, description="Bad Gateway")
    query = w.group.press(w.ana, "⬅️ Kembali", message=card)
    answer = await w.ana.answer_to(query)
    assert answer["text"] == t("id", "moderation.answer.admins_unknown") and answer["show_alert"]
    card = await until(lambda: card_of(w, story_id))
    query = w.group.press(w.ana, "⬅️ Kembali", message=card)  # Telegram answers again
    assert (await w.ana.answer_to(query))["text"] == t("id", "moderation.answer.not_allowed")


async def test_two_moderators_race_and_an_outdated_card(world: World) -> None:
    w = world
    story_id = story(w, "SP-RACE")
    card = await until(lambda: card_of(w, story_id))
    snapshot = dict(card)  # both moderators see this card
    first = w.group.press(w.ana, "✅ Setujui", message=snapshot)
    await w.ana.answer_to(first)
    second = w.group.press(w.budi, "❌ Tolak", message=snapshot)
    answer = await w.budi.answer_to(second)
    assert (
        answer["text"]
        == "Ana sudah lebih dulu: menyetujui. Status sekarang: disetujui, menunggu jadwal terbit."
    )
    assert row_of(w, story_id).state == "approved"
    # An old button on the outdated card: the answer says the state, the card is redrawn.
    third = w.group.press(w.budi, "🚫 Karantina", message=snapshot)
    answer = await w.budi.answer_to(third)
    assert "disetujui" in answer["text"]
    refreshed = await until(lambda: card_of(w, story_id))
    assert "Ana: menyetujui" in refreshed["text"]
    assert row_of(w, story_id).state == "approved"


async def test_contributor_who_blocked_the_bot(world: World) -> None:
    w = world
    story_id = story(w, "SP-BLK")
    card = await until(lambda: card_of(w, story_id))
    w.fake.block(w.yuli.id)
    w.group.press(w.ana, "✅ Setujui", message=card)
    with Session(w.engine) as session:
        await until(
            lambda: (
                session.exec(
                    select(Notification.state).where(Notification.submission_id == story_id)
                ).first()
                == "blocked"
            )
        )
    with Session(w.engine) as session:
        person = session.exec(
            select(Contributor).where(Contributor.telegram_user_id == w.yuli.id)
        ).one()
        assert person.bot_blocked_at is not None
    sends = [c for c in w.fake.calls_of("sendMessage") if c.get("chat_id") == w.yuli.id]
    await asyncio.sleep(0.3)  # a few more ticks: not retried
    assert [c for c in w.fake.calls_of("sendMessage") if c.get("chat_id") == w.yuli.id] == sends


async def test_withdrawal_after_approval_marks_the_card(world: World) -> None:
    w = world
    story_id = story(w, "SP-WDR", renditions=2, media=2)
    card = await until(lambda: card_of(w, story_id))
    assert len([m for m in w.group.chat.replies if "photo" in m]) == 2
    w.group.press(w.ana, "✅ Setujui", message=card)
    await until(lambda: row_of(w, story_id).state == "approved")
    await contributor_told(w, "disetujui")
    # Yuli takes the story back with /hapus, through the contributor conversation.
    await w.yuli.settle()
    w.yuli.command("hapus")
    [choose] = await w.yuli.settle()
    w.yuli.press(next(label for label in button_texts(choose) if label.startswith("SP-WDR")))
    await w.yuli.settle()
    w.yuli.press(t("id", "bot.erase.yes_button"))
    await w.yuli.settle()
    assert row_of(w, story_id).state == "erased"
    card = await until(lambda: (c := card_of(w, story_id)) and "ditarik" in c["text"] and c)
    assert "Air rob" not in card["text"]
    assert button_texts(card) == []
    # The photos are taken down from the group too.
    await until(lambda: not [m for m in w.group.chat.replies if "photo" in m])


async def test_a_late_photo_is_added_from_the_card_and_shown_under_it(world: World) -> None:
    w = world
    story_id = story(
        w, "SP-LATE", renditions=1, media=2, flags=[{"kind": "photo_late", "span": None}]
    )
    late = jpeg(gps=OESAPA, label="datang belakangan")
    store_late_photo(w.engine, MediaStore(w.settings.data_dir), story_id, late)
    card = await until(lambda: card_of(w, story_id))
    assert "foto yang sempat gagal diunduh" in card["text"]
    assert len([m for m in w.group.chat.replies if "photo" in m]) == 1

    w.group.press(w.eve, "🖼 Tambahkan foto susulan", message=card)  # not a moderator
    query = w.group.press(w.budi, "🖼 Tambahkan foto susulan", message=card)
    assert "Foto susulan ditambahkan: 1" in (await w.budi.answer_to(query))["text"]
    shown = await until(
        lambda: [m for m in w.group.chat.replies if "photo" in m and m.get("reply_to_message")]
    )
    assert shown[0]["reply_to_message"]["message_id"] == card["message_id"]
    sent = w.fake.file_bytes(shown[0]["photo"][-1]["file_id"])
    assert metadata_in(sent) == []  # the rendition, never the original with its GPS
    card = await until(
        lambda: (c := card_of(w, story_id)) and "menambahkan foto susulan" in c["text"] and c
    )
    assert "🖼 Tambahkan foto susulan" not in button_texts(card)
    assert "foto yang sempat gagal diunduh" not in card["text"]
    # the photo's id is saved once Telegram has answered the send, which may come after the
    # card was redrawn: wait for it (a withdrawal deletes the photos by these ids)
    row = await until(
        lambda: (r := row_of(w, story_id)) and len(r.card_media_message_ids) == 2 and r
    )
    assert row.flags == []
    with Session(w.engine) as session:
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.submission_id == story_id)
        ).all()
    assert "late_photos" in actions and "refused" in actions


async def test_a_late_post_is_reported_in_the_group_without_any_dispatcher(world: World) -> None:
    w = world
    story_id = story(w, "SP-TELAT", state=SubmissionState.APPROVED)
    with Session(w.engine) as session:
        add_channel(session, name="outbox", kind="outbox")
        ensure_default_campaign(session)
        session.commit()
        schedule_story(
            session,
            submission_id=story_id,
            campaign_slug="adil-untuk-bumi",
            at=None,
            channels=None,
            actor="moderator:Ana",
        )
        session.commit()
        [delivery] = session.exec(select(Delivery)).all()
        delivery.scheduled_at = utcnow() - timedelta(minutes=20)  # nobody ran a worker
        session.add(delivery)
        session.commit()
    [alert] = await until(
        lambda: [m for m in w.group.chat.replies if m.get("text", "").startswith("⏰")]
    )
    assert "SP-TELAT → outbox" in alert["text"] and "belum dicoba" in alert["text"]
    await asyncio.sleep(0.3)  # more polls: told once
    assert len([m for m in w.group.chat.replies if m.get("text", "").startswith("⏰")]) == 1


async def test_daily_reminder_lists_waiting_stories(world: World) -> None:
    w = world
    the_desk = desk(w.app)
    story(w, "SP-REM")  # fresh: not yet waiting too long
    await moderation_jobs.post_reminder(the_desk, w.app.bot)
    [quiet] = await until(
        lambda: [m for m in w.group.chat.replies if "Pengingat" in m.get("text", "")]
    )
    assert "tidak ada cerita" in quiet["text"]
    quarantined = story(w, "SP-QRM", state=SubmissionState.QUARANTINED)
    card = await until(lambda: card_of(w, quarantined))
    later = moderation_jobs.reminder_text(the_desk, now=utcnow() + timedelta(hours=30))
    assert later.splitlines()[0] == "⏰ Pengingat harian: 2 cerita perlu dilihat"
    assert "• SP-REM: menunggu diperiksa moderator, sudah 30 jam" in later
    assert "SP-QRM: ditahan untuk diperiksa" in later
    link = f"https://t.me/c/{str(GROUP_ID)[4:]}/{card['message_id']}"
    assert link in later


async def test_the_reminder_is_due_at_the_local_time(
    fake: FakeBotAPI, settings: Settings, engine: Engine
) -> None:
    configured = settings_for(
        fake,
        settings,
        moderator_chat_id=GROUP_ID,
        review_reminder_time="08:00",
        timezone="Asia/Makassar",
    )
    async with running_bot(fake, configured, engine) as application:
        assert application.job_queue is not None
        [job] = application.job_queue.get_jobs_by_name("daily-reminder")
        assert job.next_t is not None
        due = job.next_t.astimezone(ZoneInfo("Asia/Makassar"))
    # 08:00 WITA (00:00 UTC), the next one to come: within a day.
    assert (due.hour, due.minute, due.utcoffset()) == (8, 0, timedelta(hours=8))
    assert timedelta(0) < due - utcnow() <= timedelta(days=1)


async def test_without_a_group_the_bot_runs_and_stories_wait(
    fake: FakeBotAPI, settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    configured = settings_for(fake, settings, moderator_chat_id=None, moderation_poll_seconds=0.05)
    with caplog.at_level("WARNING"):
        async with running_bot(fake, configured, engine):
            story_id = add_story(engine, ref="SP-NOGR")
            await asyncio.sleep(0.3)
    assert sum("PESISIR_MODERATOR_CHAT_ID" in r.getMessage() for r in caplog.records) == 1
    with Session(engine) as session:
        row = session.get(Submission, story_id)
        assert row is not None and row.card_message_id is None and row.state == "pending_review"


async def test_quarantined_story_gets_a_card_and_can_go_back(world: World) -> None:
    w = world
    story_id = story(w, "SP-QRN", state=SubmissionState.QUARANTINED)
    card = await until(lambda: card_of(w, story_id))
    assert "ditahan untuk diperiksa" in card["text"]
    w.group.press(w.ana, "↩️ Kembalikan ke antrean", message=card)
    await until(lambda: row_of(w, story_id).state == "pending_review")
    await until(lambda: "✅ Setujui" in button_texts(card_of(w, story_id) or {}))


async def test_a_deleted_card_is_posted_again(world: World) -> None:
    w = world
    story_id = story(w, "SP-DEL")
    card = await until(lambda: card_of(w, story_id))
    card["_deleted"] = True  # a group admin deleted the card by hand
    with Session(w.engine) as session:  # someone else acts, so the bot wants to redraw it
        row = session.get(Submission, story_id)
        assert row is not None
        row.card_version = 0
        session.add(row)
        session.commit()
    fresh = await until(lambda: card_of(w, story_id))
    assert fresh["message_id"] != card["message_id"]
    assert "SP-DEL" in fresh["text"]


async def test_a_reply_to_the_prompt_answers_that_prompt(world: World) -> None:
    w = world
    story_id = story(w, "SP-RPL")
    card = await until(lambda: card_of(w, story_id))
    w.group.press(w.ana, "✏️ Edit teks", message=card)
    [prompt] = await until(
        lambda: [m for m in w.group.chat.replies if "teks publik baru" in m.get("text", "")]
    )
    assert prompt["reply_markup"]["force_reply"] is True
    w.group.send_text(w.eve, "Eve chatting in the group")  # not a moderator's answer
    # Telegram's reply_to_message carries no ForceReply markup.
    replied = {k: v for k, v in prompt.items() if k != "reply_markup" and not k.startswith("_")}
    w.ana._send({"text": "Teks yang dibalas.", "reply_to_message": replied}, w.group.chat)
    await until(lambda: row_of(w, story_id).public_text == "Teks yang dibalas.")
    assert row_of(w, story_id).public_text == "Teks yang dibalas."
