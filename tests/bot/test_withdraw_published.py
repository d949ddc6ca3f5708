"""/hapus on a published story takes its posts down before the story is erased."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import BotApp
from core.config import Settings
from core.delivery_table import Delivery
from core.models import AuditEvent, Submission
from faketelegram import FakeBotAPI, button_texts
from moderation.decisions import approve
from publishers.campaigns import ensure_default_campaign
from publishers.channels_config import add_channel
from publishers.dispatcher import dispatch_due
from publishers.scheduling import schedule_story
from tests.bot.helpers import press, stories_of, tell_story


async def _published(engine: Engine, settings: Settings, story_id: int) -> Delivery:
    for _ in range(100):  # the bot ingests the story in the background
        with Session(engine) as session:
            story = session.get(Submission, story_id)
            assert story is not None
            if story.state == "pending_review":
                break
        await asyncio.sleep(0.05)
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        approve(session, story_id, actor="moderator:Ana", expected_version=story.version)
        add_channel(session, name="outbox", kind="outbox")
        ensure_default_campaign(session)
        session.commit()
        schedule_story(
            session,
            submission_id=story_id,
            campaign_slug="adil-untuk-bumi",
            at=None,
            channels=["outbox"],
            actor="moderator:Ana",
        )
        session.commit()
        [delivery] = session.exec(select(Delivery)).all()
    later = delivery.scheduled_at
    await asyncio.to_thread(dispatch_due, engine, settings, worker_id="test", now=later)
    with Session(engine) as session:
        sent = session.get(Delivery, delivery.id)
        assert sent is not None and sent.state == "sent"
        story = session.get(Submission, story_id)
        assert story is not None and story.state == "published"
        return sent


async def test_hapus_takes_a_published_post_down(
    fake: FakeBotAPI, bot: BotApp, engine: Engine, bot_settings: Settings
) -> None:
    user = fake.user(905, "Yuli", "id")
    await tell_story(user, photos=1, text="Warga Oesapa tanam mangrove di pantai hari ini.")
    [story] = stories_of(engine, 905)
    assert story.id is not None
    sent = await _published(engine, bot_settings, story.id)
    outbox_post = next(bot_settings.effective_outbox_dir.rglob("post.json")).parent
    assert outbox_post.exists()

    user.command("hapus")
    [choose] = await user.settle()
    user.press(next(text for text in button_texts(choose) if text.startswith(story.ref)))
    await user.settle()
    [told] = await press(user, "bot.erase.yes_button")
    assert "• 1 posting yang sudah terbit diturunkan" in told

    assert not outbox_post.exists()
    with Session(engine) as session:
        delivery = session.get(Delivery, sent.id)
        erased = session.get(Submission, story.id)
        actions = session.exec(
            select(AuditEvent.action).where(AuditEvent.submission_id == story.id)
        ).all()
    assert delivery is not None and delivery.state == "cancelled"
    assert erased is not None and erased.state == "erased" and erased.text is None
    assert "retract_posts" in actions
