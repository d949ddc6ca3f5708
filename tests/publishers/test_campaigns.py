"""Campaigns: slots in local time (WITA, UTC+8, no DST), active dates, taken slots."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.delivery_table import Delivery
from core.errors import InvalidInput, NotAllowed, NotFound
from publishers.campaigns import (
    create_campaign,
    ensure_default_campaign,
    format_slots,
    get_campaign,
    next_free_slot,
    parse_slots,
    set_paused,
    slot_times,
)
from publishers.channels_config import add_channel, pause_channel, resume_channel
from tests.publishers.dispatch_support import make_story, register_test_publishers

register_test_publishers()


def test_slot_text_round_trips_and_bad_input_is_explained() -> None:
    rules = parse_slots("Mon,Wed,Fri@09:00,19:00; sat@7:30")
    assert rules == [
        {"days": ["mon", "wed", "fri"], "time": "09:00"},
        {"days": ["mon", "wed", "fri"], "time": "19:00"},
        {"days": ["sat"], "time": "07:30"},
    ]
    assert parse_slots(format_slots(rules)) == rules
    with pytest.raises(InvalidInput, match="unknown day"):
        parse_slots("mon,funday@09:00")
    with pytest.raises(InvalidInput, match="HH:MM"):
        parse_slots("mon@25:00")
    with pytest.raises(InvalidInput, match="days@HH:MM"):
        parse_slots("mon")


def test_slots_are_local_wita_times_in_utc(engine: Engine) -> None:
    with Session(engine) as session:
        campaign = create_campaign(
            session, slug="banjir", name="Banjir", slots="mon,wed,fri@09:00,19:00"
        )
        # Monday 23 Nov 2026, 00:00 UTC is 08:00 WITA: the first slot is 09:00 WITA = 01:00 UTC.
        start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
        end = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
        slots = list(slot_times(campaign, start, end))
        assert slots == [
            datetime(2026, 11, 23, 1, 0, tzinfo=UTC),  # Mon 09:00 WITA
            datetime(2026, 11, 23, 11, 0, tzinfo=UTC),  # Mon 19:00
            datetime(2026, 11, 25, 1, 0, tzinfo=UTC),  # Wed
            datetime(2026, 11, 25, 11, 0, tzinfo=UTC),
            datetime(2026, 11, 27, 1, 0, tzinfo=UTC),  # Fri
            datetime(2026, 11, 27, 11, 0, tzinfo=UTC),
        ]
        # WITA has no daylight saving: a July slot is still UTC+8.
        july = list(
            slot_times(
                campaign,
                datetime(2026, 7, 6, 0, 0, tzinfo=UTC),
                datetime(2026, 7, 6, 23, 0, tzinfo=UTC),
            )
        )
        assert july == [
            datetime(2026, 7, 6, 1, 0, tzinfo=UTC),
            datetime(2026, 7, 6, 11, 0, tzinfo=UTC),
        ]


def test_local_day_is_used_not_the_utc_day(engine: Engine) -> None:
    with Session(engine) as session:
        campaign = create_campaign(session, slug="pagi", name="Pagi", slots="tue@06:00")
        # Tuesday 06:00 WITA is Monday 22:00 UTC.
        slots = list(
            slot_times(
                campaign,
                datetime(2026, 11, 23, 0, 0, tzinfo=UTC),
                datetime(2026, 11, 25, 0, 0, tzinfo=UTC),
            )
        )
        assert slots == [datetime(2026, 11, 23, 22, 0, tzinfo=UTC)]


def test_next_free_slot_skips_taken_slots_and_respects_dates(engine: Engine) -> None:
    with Session(engine) as session:
        channel = add_channel(
            session, name="scripted", kind="test-scripted", config={"channel": "x"}
        )
        campaign = create_campaign(
            session,
            slug="desember",
            name="Desember",
            slots="mon,wed,fri@09:00",
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 4),
        )
        after = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
        first = next_free_slot(session, campaign, after)
        assert first == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # Wed 2 Dec 09:00 WITA
        story = make_story(session)
        session.add(
            Delivery(
                submission_id=story.id or 0,
                campaign_id=campaign.id,
                channel_id=channel.id or 0,
                scheduled_at=first,
                next_attempt_at=first,
            )
        )
        session.flush()
        assert next_free_slot(session, campaign, after) == datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
        # A cancelled delivery frees its slot again.
        other = make_story(session)
        session.add(
            Delivery(
                submission_id=other.id or 0,
                campaign_id=campaign.id,
                channel_id=channel.id or 0,
                scheduled_at=datetime(2026, 12, 4, 1, 0, tzinfo=UTC),
                state="cancelled",
            )
        )
        session.flush()
        assert next_free_slot(session, campaign, after) == datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
        session.add(
            Delivery(
                submission_id=other.id or 0,
                campaign_id=campaign.id,
                channel_id=channel.id or 0,
                scheduled_at=datetime(2026, 12, 4, 1, 0, tzinfo=UTC),
            )
        )
        with pytest.raises(IntegrityError):  # one delivery per story, campaign, channel
            session.flush()
        session.rollback()


def test_full_campaign_has_no_free_slot(engine: Engine) -> None:
    with Session(engine) as session:
        campaign = create_campaign(
            session,
            slug="singkat",
            name="Singkat",
            slots="mon@09:00",
            starts_on=date(2026, 11, 24),
            ends_on=date(2026, 11, 29),  # Tue to Sun: no Monday at all
        )
        with pytest.raises(NotAllowed, match="no free slot"):
            next_free_slot(session, campaign, datetime(2026, 11, 23, tzinfo=UTC))


def test_campaign_crud_and_validation(engine: Engine) -> None:
    with Session(engine) as session:
        made = ensure_default_campaign(session)
        assert made.hashtags == ["AdilUntukBumi", "SuaraPesisir"]
        assert ensure_default_campaign(session).id == made.id
        with pytest.raises(InvalidInput, match="exists"):
            create_campaign(session, slug=made.slug, name="again")
        with pytest.raises(InvalidInput, match="slug"):
            create_campaign(session, slug="Bad Slug", name="x")
        with pytest.raises(InvalidInput, match="time zone"):
            create_campaign(session, slug="zona", name="x", timezone="Mars/Base")
        with pytest.raises(InvalidInput, match="hashtag"):
            create_campaign(session, slug="tags", name="x", hashtags=["#two words"])
        assert set_paused(session, made.slug, True).paused
        assert not set_paused(session, made.slug, False).paused
        with pytest.raises(NotFound):
            get_campaign(session, "nope")


def test_channels_refuse_secrets_and_unknown_kinds_and_pause(engine: Engine) -> None:
    with Session(engine) as session:
        with pytest.raises(InvalidInput, match="secrets"):
            add_channel(session, name="x", kind="test-scripted", config={"access_token": "t"})
        with pytest.raises(InvalidInput, match="unknown channel kind"):
            add_channel(session, name="x", kind="myspace")
        channel = add_channel(session, name="x", kind="test-scripted", rate_per_minute=5)
        assert channel.rate_per_minute == 5
        assert pause_channel(session, "x", "maintenance").paused_reason == "maintenance"
        resumed = resume_channel(session, "x")
        assert not resumed.paused and resumed.paused_reason is None
        # Defaults come from the publisher classes (PLATFORMS.md: Telegram 20 posts/min).
        assert add_channel(session, name="tg", kind="telegram_channel").rate_per_minute == 20
        assert add_channel(session, name="out", kind="outbox").rate_per_minute is None
