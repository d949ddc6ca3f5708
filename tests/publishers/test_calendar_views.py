"""The dashboard's reads and the campaign team's changes below it: calendar days with their
warnings, a post's own caption (previewed and sent as composed), cancelling one post, autofill
spreading stories over the whole campaign."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.config import Settings
from core.delivery_table import Delivery
from core.errors import InvalidTransition, NotAllowed
from core.models import Submission
from publishers import deliveries
from publishers.calendar import calendar_days, posts_in_states
from publishers.campaigns import create_campaign
from publishers.channels_config import pause_channel
from publishers.dispatcher import dispatch_due
from publishers.preview import preview_post
from publishers.scheduling import autofill, cancel_post, schedule_story, spread
from tests.publishers.dispatch_support import CALLS, make_story, register_test_publishers
from tests.publishers.dispatch_support import setup_adil as _setup

register_test_publishers()

NOW = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday 08:00 WITA


def _schedule(session: Session, story: Submission, at: datetime, campaign: str = "adil") -> None:
    schedule_story(
        session,
        submission_id=story.id or 0,
        campaign_slug=campaign,
        at=at,
        channels=None,
        actor="web:Ana",
        now=NOW,
    )


def test_calendar_days_count_every_post_and_warn(engine: Engine) -> None:
    monday_9 = NOW + timedelta(hours=1)
    with Session(engine) as session:
        _setup(session)
        create_campaign(session, slug="lain", name="Lain", channels=["mast"], slots="daily@09:00")
        first, second = make_story(session), make_story(session)
        _schedule(session, first, monday_9)
        _schedule(session, second, monday_9)  # the same slot on the same channels
        _schedule(session, first, monday_9 + timedelta(days=1), campaign="lain")  # mast twice
        pause_channel(session, "tele", "token revoked")
        session.commit()
        days = calendar_days(
            session, start=date(2026, 11, 23), days=7, timezone="Asia/Makassar", now=NOW
        )
        assert [d.total for d in days] == [4, 1, 0, 0, 0, 0, 0]
        assert days[0].counts == {"pending": 4}
        warned = {(p.ref, p.channel): set(p.warnings) for p in days[0].posts}
        assert warned[(first.ref, "tele")] == {"channel_paused", "slot_clash"}
        assert warned[(first.ref, "mast")] == {"slot_clash", "twice"}
        assert warned[(second.ref, "mast")] == {"slot_clash"}
        later = calendar_days(
            session,
            start=date(2026, 11, 23),
            days=2,
            timezone="Asia/Makassar",
            per_day=1,
            campaign_slug="lain",
            now=NOW + timedelta(days=3),
        )
        assert [d.total for d in later] == [0, 1]
        assert later[1].posts[0].warnings == ("past", "twice")


def test_a_caption_is_checked_previewed_and_sent_as_the_composer_fits_it(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine) as session:
        _setup(session)
        story = make_story(session)
        _schedule(session, story, NOW - timedelta(minutes=5))
        post = session.exec(select(Delivery).where(Delivery.channel_id == 1)).one()
        with pytest.raises(NotAllowed, match="personal data"):
            deliveries.set_caption(session, post.id or 0, "Hubungi 0812 3456 7890", actor="web:A")
        caption = "Banjir rob lagi di Oesapa. " * 30  # longer than Mastodon's 500
        deliveries.set_caption(session, post.id or 0, caption, actor="web:Ana")
        session.commit()
        shown = preview_post(session, settings, post.id or 0)
    assert shown.text is not None and shown.text.startswith("Banjir rob lagi di Oesapa.")
    assert shown.shortened and len(shown.text) <= 500
    assert shown.hashtags[0] == "AdilUntukBumi" and shown.caption_override == caption.strip()
    CALLS["mast"].clear()
    dispatch_due(engine, settings, worker_id="w", now=NOW)
    [(_key, sent)] = CALLS["mast"]
    assert sent.text == shown.text and sent.hashtags == shown.hashtags
    with Session(engine) as session, pytest.raises(InvalidTransition):
        deliveries.set_caption(session, post.id or 0, "Terlambat", actor="web:Ana")


def test_cancelling_the_last_waiting_post_returns_the_story(engine: Engine) -> None:
    with Session(engine) as session:
        _setup(session)
        story = make_story(session)
        _schedule(session, story, NOW + timedelta(hours=1))
        ids = [d.id or 0 for d in session.exec(select(Delivery).order_by(Delivery.id))]
        cancel_post(session, delivery_id=ids[0], actor="web:Ana")
        session.refresh(story)
        assert story.state == "scheduled"
        cancel_post(session, delivery_id=ids[1], actor="web:Ana")
        session.refresh(story)
        assert story.state == "approved"
        assert {p.state for p in posts_in_states(session, ["cancelled"])} == {"cancelled"}


def test_autofill_spreads_stories_over_the_whole_campaign(engine: Engine) -> None:
    assert spread(list(range(10)), 3) == [0, 3, 6]
    assert spread([1, 2], 5) == [1, 2]
    with Session(engine) as session:
        _setup(session, ends_on=date(2026, 12, 20))
        stories = [make_story(session, place_id=f"p{i}", place_name=f"P{i}") for i in range(4)]
        made = autofill(session, "adil", now=NOW)
        times = sorted({post.scheduled_at for post in made})
        assert len(times) == len(stories)
        # 24 slots from 23 November to 20 December: one story a week, not four in two days.
        assert times[-1] - times[0] > timedelta(days=18)
        assert times[-1] < datetime(2026, 12, 21, tzinfo=UTC)
