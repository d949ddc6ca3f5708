"""Late posts: reported once to the moderators' group with what holds them, and again when out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.notifier import render
from core.config import Settings
from core.models import Notification
from publishers.campaigns import create_campaign, set_paused
from publishers.channels_config import add_channel, pause_channel
from publishers.dispatcher import dispatch_due
from publishers.late_posts import alert_late_posts
from publishers.scheduling import schedule_story
from tests.publishers.dispatch_support import CALLS, SCRIPTS, make_story, register_test_publishers

register_test_publishers()

SLOT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 WITA


@pytest.fixture(autouse=True)
def _clean_fakes() -> None:
    SCRIPTS.clear()
    CALLS.clear()


def _scheduled(engine: Engine, channel: str, campaign: str = "adil") -> str:
    """A story scheduled at SLOT on `channel` (created with its campaign when new); its ref."""
    with Session(engine) as session:
        add_channel(session, name=channel, kind="test-scripted", config={"channel": channel})
        create_campaign(
            session, slug=campaign, name=campaign, hashtags=["AdilUntukBumi"], channels=[channel]
        )
        story = make_story(session)
        schedule_story(
            session,
            submission_id=story.id or 0,
            campaign_slug=campaign,
            at=SLOT,
            channels=None,
            actor="cli:test",
        )
        session.commit()
        return story.ref


def _alerts(engine: Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Notification)
                .where(Notification.audience == "moderators")
                .order_by(col(Notification.id))
            )
        )


def test_a_late_post_is_reported_once_with_what_holds_it(
    engine: Engine, settings: Settings
) -> None:
    waiting = _scheduled(engine, "mast")
    stuck = _scheduled(engine, "tele", campaign="langkah")
    with Session(engine) as session:
        pause_channel(session, "tele", "401 token revoked")
        session.commit()
    assert alert_late_posts(engine, settings, now=SLOT + timedelta(minutes=14)) == 0
    assert _alerts(engine) == []
    assert alert_late_posts(engine, settings, now=SLOT + timedelta(minutes=16)) == 2
    [alert] = _alerts(engine)
    assert alert.kind == "posts_late" and alert.params["count"] == 2
    text = render(alert.kind, alert.params, "id")
    assert text.startswith("⏰ 2 posting belum terkirim 15 menit setelah jadwalnya")
    assert f"• {waiting} → mast, jadwal 2026-11-23 09:00 WITA: belum dicoba" in text
    assert f"• {stuck} → tele, jadwal 2026-11-23 09:00 WITA: kanalnya dihentikan" in text
    assert "401 token revoked" in text
    assert alert_late_posts(engine, settings, now=SLOT + timedelta(hours=5)) == 0  # once
    assert len(_alerts(engine)) == 1


def test_a_retrying_post_shows_its_error_and_its_late_sending_is_announced(
    engine: Engine, settings: Settings
) -> None:
    ref = _scheduled(engine, "mast")
    SCRIPTS["mast"].append("retry")  # the platform is struggling
    dispatch_due(engine, settings, worker_id="w1", now=SLOT + timedelta(minutes=1))
    assert alert_late_posts(engine, settings, now=SLOT + timedelta(minutes=16)) == 1
    [late] = _alerts(engine)
    assert "tried 1×, last error: RetryableError: 429 slow down" in render(
        late.kind, late.params, "en"
    )
    stats = dispatch_due(engine, settings, worker_id="w1", now=SLOT + timedelta(minutes=20))
    assert stats.sent == 1
    [_, sent] = _alerts(engine)
    assert sent.kind == "late_post_sent"
    assert render(sent.kind, sent.params, "en") == (
        f"✅ The late post of {ref} to mast went out at 2026-11-23 09:20 WITA "
        "(it was due 2026-11-23 09:00 WITA)."
    )


def test_posts_sent_on_time_paused_campaigns_and_zero_minutes_are_quiet(
    engine: Engine, settings: Settings
) -> None:
    _scheduled(engine, "mast")
    dispatch_due(engine, settings, worker_id="w1", now=SLOT + timedelta(minutes=1))  # on time
    _scheduled(engine, "tele", campaign="langkah")
    with Session(engine) as session:
        set_paused(session, "langkah", True)
        session.commit()
    assert alert_late_posts(engine, settings, now=SLOT + timedelta(hours=2)) == 0
    with Session(engine) as session:
        set_paused(session, "langkah", False)
        session.commit()
    off = settings.model_copy(update={"late_post_alert_minutes": 0})
    assert alert_late_posts(engine, off, now=SLOT + timedelta(hours=2)) == 0
    assert alert_late_posts(engine, settings, now=SLOT + timedelta(hours=2)) == 1
    assert [alert.kind for alert in _alerts(engine)] == ["posts_late"]
