"""Personal data never goes out: masked by default, refused when a moderator's text holds it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.config import Settings
from core.delivery_table import Delivery
from core.errors import NotAllowed
from core.models import Submission
from publishers.campaigns import create_campaign
from publishers.channels_config import add_channel
from publishers.dispatcher import dispatch_due
from publishers.scheduling import schedule_story
from tests.publishers.dispatch_support import make_story

SLOT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
PHONE, NIK, EMAIL = "0812-3456-7890", "5371041204900002", "maria.kupang@gmail.com"
TEXT = (
    f"Air laut masuk rumah di Oesapa. Hubungi saya {PHONE} atau {EMAIL}, "
    f"NIK saya {NIK}. Foto lain di https://contoh.example.org/album."
)


def _world(engine: Engine, **story: object) -> int:
    with Session(engine) as session:
        add_channel(session, name="outbox", kind="outbox")
        create_campaign(session, slug="adil", name="Adil", channels=["outbox"], slots="daily@09:00")
        story_id = make_story(session, text=TEXT, **story).id or 0  # type: ignore[arg-type]
        session.commit()
    return story_id


def _schedule(engine: Engine, story_id: int) -> None:
    with Session(engine) as session:
        schedule_story(
            session,
            submission_id=story_id,
            campaign_slug="adil",
            at=SLOT,
            channels=None,
            actor="cli:test",
        )
        session.commit()


def test_a_plain_approval_publishes_the_text_with_personal_data_masked(
    engine: Engine, settings: Settings
) -> None:
    story_id = _world(engine)
    _schedule(engine, story_id)
    assert dispatch_due(engine, settings, worker_id="w", now=SLOT + timedelta(minutes=1)).sent == 1
    [written] = list((settings.data_dir / "outbox").glob("*/*/post.json"))
    post = json.loads(written.read_text("utf-8"))["text"]
    for secret in (PHONE, NIK, EMAIL, "contoh.example.org"):
        assert secret not in post
    assert "[nomor HP]" in post and "[NIK]" in post and "[email]" in post and "[tautan]" in post


def test_a_public_text_that_still_holds_personal_data_is_not_scheduled(engine: Engine) -> None:
    story_id = _world(engine)
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        story.public_text = f"Air laut masuk rumah. Hubungi {PHONE}."
        session.add(story)
        session.commit()
    with pytest.raises(NotAllowed, match="personal data \\(phone\\)"):
        _schedule(engine, story_id)
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        # A moderator may put a link in on purpose (a petition): that is not personal data.
        story.public_text = "Tanda tangani petisi: https://petisi.example.org/pesisir"
        session.add(story)
        session.commit()
    _schedule(engine, story_id)


def test_personal_data_that_reaches_a_due_post_fails_it_instead_of_publishing(
    engine: Engine, settings: Settings
) -> None:
    story_id = _world(engine)
    _schedule(engine, story_id)
    with Session(engine) as session:  # however it got there, it must not go out
        story = session.get(Submission, story_id)
        assert story is not None
        story.public_text = f"Telepon {PHONE}"
        session.add(story)
        session.commit()
    stats = dispatch_due(engine, settings, worker_id="w", now=SLOT + timedelta(minutes=1))
    assert (stats.sent, stats.failed) == (0, 1)
    with Session(engine) as session:
        [row] = session.exec(select(Delivery)).all()
    assert row.state == "failed" and "personal data" in (row.last_error or "")
    assert PHONE not in (row.last_error or "")
    assert not list((settings.data_dir / "outbox").glob("*/*/post.json"))
