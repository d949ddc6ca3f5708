"""Scheduling from the review card: campaigns, next free slot, a typed time, unscheduling."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

import publishers.channels.outbox  # noqa: F401 - registers the `outbox` channel kind
from core.clock import as_utc, utcnow
from core.delivery_table import Delivery
from core.models import AuditEvent, Campaign, Submission
from core.states import SubmissionState
from faketelegram import button_texts
from publishers.campaigns import create_campaign, next_free_slot
from publishers.channels_config import add_channel
from tests.bot.test_moderators import World, card_of, row_of, story, until
from tests.bot.test_moderators import world as moderators_world  # noqa: F401 - the fixture

WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
def w(moderators_world: World) -> World:  # noqa: F811 - the imported fixture
    """The moderators' group of `test_moderators` with the bot running."""
    return moderators_world


def campaigns(w: World) -> None:
    """Two channels; an open campaign with slots, a paused one, and one that ended."""
    with Session(w.engine) as session:
        add_channel(session, name="outbox", kind="outbox")
        add_channel(session, name="arsip", kind="outbox")
        create_campaign(
            session,
            slug="adil",
            name="Adil untuk Bumi",
            channels=["outbox", "arsip"],
            slots="daily@09:00,19:00",
        )
        paused = create_campaign(
            session, slug="diam", name="Kampanye Jeda", channels=["outbox"], slots="daily@10:00"
        )
        paused.paused = True
        create_campaign(
            session,
            slug="lama",
            name="Kampanye Lama",
            channels=["outbox"],
            slots="daily@10:00",
            starts_on=(utcnow() - timedelta(days=30)).date(),
            ends_on=(utcnow() - timedelta(days=10)).date(),
        )
        session.commit()


async def approved_card(w: World, ref: str, **options: Any) -> tuple[int, dict[str, Any]]:
    """A story approved on its card; the redrawn card."""
    story_id = story(w, ref, **options)
    card = await until(lambda: card_of(w, story_id))
    w.group.press(w.ana, "✅ Setujui", message=card)
    await until(lambda: row_of(w, story_id).state == "approved")
    card = await until(lambda: (c := card_of(w, story_id)) and "Ana: menyetujui" in c["text"] and c)
    return story_id, card


def deliveries(w: World, story_id: int) -> list[Delivery]:
    with Session(w.engine) as session:
        return list(
            session.exec(
                select(Delivery)
                .where(Delivery.submission_id == story_id)
                .order_by(col(Delivery.channel_id))
            )
        )


def menu_with(w: World, story_id: int, label: str) -> Any:
    """A predicate: the card once it shows a button containing `label`."""

    def check() -> dict[str, Any] | None:
        card = card_of(w, story_id)
        if card and any(label in text for text in button_texts(card)):
            return card
        return None

    return check


async def test_schedule_to_the_next_free_slot_and_unschedule(w: World) -> None:
    campaigns(w)
    story_id, card = await approved_card(w, "SP-JDW")
    assert "📅 Jadwalkan" in button_texts(card)

    w.group.press(w.budi, "📅 Jadwalkan", message=card)
    menu = await until(menu_with(w, story_id, "Adil untuk Bumi"))
    # Only the open campaign: not the paused one, not the one that ended.
    assert button_texts(menu) == ["Adil untuk Bumi", "⬅️ Kembali"]

    with Session(w.engine) as session:
        adil = session.exec(select(Campaign).where(Campaign.slug == "adil")).one()
        expected = next_free_slot(session, adil, utcnow())
    shown = expected.astimezone(WITA).strftime("%Y-%m-%d %H:%M WITA")
    w.group.press(w.budi, "Adil untuk Bumi", message=menu)
    menu = await until(menu_with(w, story_id, "Slot kosong berikutnya"))
    assert button_texts(menu) == [
        f"⏭ Slot kosong berikutnya: {shown}",
        "⌨️ Ketik waktu",
        "⬅️ Kembali",
    ]
    assert expected.astimezone(WITA).strftime("%H:%M") in ("09:00", "19:00")

    query = w.group.press(w.budi, f"⏭ Slot kosong berikutnya: {shown}", message=menu)
    answer = await w.budi.answer_to(query)
    assert answer["text"] == f"📅 SP-JDW dijadwalkan di Adil untuk Bumi: {shown}."
    assert row_of(w, story_id).state == "scheduled"
    rows = deliveries(w, story_id)
    assert [(d.state, as_utc(d.scheduled_at)) for d in rows] == [("pending", expected)] * 2
    card = await until(lambda: (c := card_of(w, story_id)) and "Dijadwalkan" in c["text"] and c)
    assert "📅 Dijadwalkan oleh Budi:" in card["text"]
    assert f"• Adil untuk Bumi: {shown} → outbox, arsip" in card["text"]
    assert "Budi: menjadwalkan" in card["text"]
    assert button_texts(card) == ["🗓 Batalkan jadwal", "📌 Sematkan untuk ringkasan kebijakan"]

    # A scheduled story may be pinned to be quoted in policy briefs; the card says so.
    query = w.group.press(w.budi, "📌 Sematkan untuk ringkasan kebijakan", message=card)
    await w.budi.answer_to(query)
    card = await until(lambda: (c := card_of(w, story_id)) and "📌 Disematkan" in c["text"] and c)
    assert "📌 Lepas dari ringkasan kebijakan" in button_texts(card)
    assert "Budi: menyematkan untuk ringkasan kebijakan" in card["text"]
    assert row_of(w, story_id).pinned_at is not None

    query = w.group.press(w.ana, "🗓 Batalkan jadwal", message=card)
    assert (await w.ana.answer_to(query))["text"] == "Jadwal dibatalkan (2 posting)."
    assert row_of(w, story_id).state == "approved"
    assert [d.state for d in deliveries(w, story_id)] == ["cancelled", "cancelled"]
    card = await until(menu_with(w, story_id, "📅 Jadwalkan"))
    assert "Dijadwalkan" not in card["text"]
    assert "Ana: membatalkan jadwal" in card["text"]


async def test_a_typed_time_and_a_bad_one(w: World) -> None:
    campaigns(w)
    story_id, card = await approved_card(w, "SP-KTK", consent="named")
    w.group.press(w.ana, "📅 Jadwalkan", message=card)
    menu = await until(menu_with(w, story_id, "Adil untuk Bumi"))
    w.group.press(w.ana, "Adil untuk Bumi", message=menu)
    menu = await until(menu_with(w, story_id, "Ketik waktu"))
    w.group.press(w.ana, "⌨️ Ketik waktu", message=menu)
    [prompt] = await until(
        lambda: [m for m in w.group.chat.replies if "ketik waktu terbit" in m.get("text", "")]
    )
    assert prompt["reply_markup"]["force_reply"] is True
    assert "SP-KTK" in prompt["text"] and "Adil untuk Bumi" in prompt["text"]
    assert "waktu WITA" in prompt["text"]

    # Not a time: a kind answer and a new prompt; nothing is scheduled.
    w.group.send_text(w.ana, "besok pagi ya")
    await until(lambda: [m for m in w.group.chat.replies if "belum bisa saya baca" in m["text"]])
    prompts = await until(
        lambda: (
            (found := [m for m in w.group.chat.replies if "ketik waktu terbit" in m["text"]])
            and len(found) == 2
            and found
        )
    )
    assert row_of(w, story_id).state == "approved"
    assert deliveries(w, story_id) == []

    # A time already past: asked again too.
    w.group.send_text(w.ana, "2020-01-01 09:00")
    await until(lambda: [m for m in w.group.chat.replies if "sudah lewat" in m["text"]])
    await until(
        lambda: len([m for m in w.group.chat.replies if "ketik waktu terbit" in m["text"]]) == 3
    )
    assert deliveries(w, story_id) == []

    # A good local time (not a slot time: a typed time is taken as it is).
    day = (utcnow().astimezone(WITA) + timedelta(days=2)).date()
    typed = f"{day.isoformat()} 10:30"
    w.group.send_text(w.ana, typed)
    await until(lambda: row_of(w, story_id).state == "scheduled")
    wanted = datetime.fromisoformat(typed).replace(tzinfo=WITA)
    rows = deliveries(w, story_id)
    assert [(d.state, as_utc(d.scheduled_at)) for d in rows] == [("pending", wanted)] * 2
    await until(lambda: [m for m in w.group.chat.replies if "dijadwalkan di" in m["text"]])
    card = await until(lambda: (c := card_of(w, story_id)) and "Dijadwalkan" in c["text"] and c)
    assert f"• Adil untuk Bumi: {typed} WITA → outbox, arsip" in card["text"]
    assert "Dijadwalkan oleh Ana" in card["text"]
    assert len(prompts) == 2


async def test_internal_consent_has_no_button_and_an_old_one_is_refused(w: World) -> None:
    campaigns(w)
    internal_id, card = await approved_card(w, "SP-INT", consent="internal")
    assert "📅 Jadwalkan" not in button_texts(card)
    assert "🏷 Tema" in button_texts(card)

    # A card drawn while consent allowed social media; consent is then changed to internal
    # behind its back (no version bump): the old button is still refused.
    story_id, card = await approved_card(w, "SP-OLD")
    assert "📅 Jadwalkan" in button_texts(card)
    with Session(w.engine) as session:
        session.execute(
            update(Submission).where(col(Submission.id) == story_id).values(consent="internal")
        )
        session.commit()
    query = w.group.press(w.budi, "📅 Jadwalkan", message=card)
    answer = await w.budi.answer_to(query)
    assert answer["text"] == (
        "Cerita ini tidak bisa dijadwalkan: izin kontributor tidak membolehkan media sosial."
    )
    assert answer["show_alert"] is True
    assert row_of(w, story_id).state == "approved"
    assert deliveries(w, story_id) == [] and deliveries(w, internal_id) == []
    # The card is redrawn without the button.
    await until(lambda: "📅 Jadwalkan" not in button_texts(card_of(w, story_id) or card))


async def test_a_non_moderator_cannot_schedule(w: World) -> None:
    campaigns(w)
    story_id, card = await approved_card(w, "SP-EVS")
    query = w.group.press(w.eve, "📅 Jadwalkan", message=card)
    answer = await w.eve.answer_to(query)
    assert answer["text"] == "Maaf, hanya moderator yang boleh melakukan ini."
    # Even with the next-slot button of a menu a moderator opened.
    w.group.press(w.budi, "📅 Jadwalkan", message=card)
    menu = await until(menu_with(w, story_id, "Adil untuk Bumi"))
    w.group.press(w.budi, "Adil untuk Bumi", message=menu)
    menu = await until(menu_with(w, story_id, "Slot kosong berikutnya"))
    [next_slot] = [label for label in button_texts(menu) if "Slot kosong" in label]
    query = w.group.press(w.eve, next_slot, message=menu)
    assert (await w.eve.answer_to(query))["text"].startswith("Maaf, hanya moderator")
    assert row_of(w, story_id).state == SubmissionState.APPROVED
    assert deliveries(w, story_id) == []
    with Session(w.engine) as session:
        refused = session.exec(
            select(AuditEvent.reason).where(AuditEvent.action == "refused")
        ).all()
    assert refused == ["menu_schedule", "schedule"]


async def test_no_open_campaign_says_so(w: World) -> None:
    story_id, card = await approved_card(w, "SP-NOC")
    query = w.group.press(w.budi, "📅 Jadwalkan", message=card)
    answer = await w.budi.answer_to(query)
    assert answer["text"] == "Belum ada kampanye aktif yang cocok untuk cerita ini."
    assert row_of(w, story_id).state == "approved"
