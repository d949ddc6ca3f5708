"""A story the bot received but never ingested (it stopped) is ingested when the bot starts."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Engine
from sqlmodel import Session

from cli.harness import running_bot
from core.config import Settings
from core.models import Contributor, Submission
from faketelegram import FakeBotAPI


async def test_story_left_in_received_reaches_review_after_a_restart(
    fake: FakeBotAPI, bot_settings: Settings, engine: Engine
) -> None:
    with Session(engine) as session:
        person = Contributor(telegram_user_id=4242)
        session.add(person)
        session.flush()
        story = Submission(
            ref="SP-LEFT",
            contributor_id=person.id,
            state="received",
            text="Abrasi di pantai Lasiana, pohon kelapa tumbang ke laut.",
            consent="anonymous",
        )
        session.add(story)
        session.commit()
        story_id = story.id
    async with running_bot(fake, bot_settings, engine):
        for _ in range(100):
            with Session(engine) as session:
                current = session.get(Submission, story_id)
                assert current is not None
                if current.state != "received":
                    break
            await asyncio.sleep(0.1)
    assert current.state == "pending_review"
    assert "abrasi" in [theme["slug"] for theme in current.themes]
