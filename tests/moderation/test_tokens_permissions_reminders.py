"""Who may moderate, and the daily reminder rows (button tokens: tests/bot/test_buttons.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from core.config import Settings
from core.models import AuditEvent
from core.states import SubmissionState
from moderation import edits, permissions, reminders
from tests.moderation.conftest import MakeStory


def test_moderators_are_configured_ids_and_group_admins(settings: Settings) -> None:
    settings.moderator_ids = [11, 12]
    assert permissions.is_moderator(settings, 11)
    assert not permissions.is_moderator(settings, 99)
    assert permissions.is_moderator(settings, 99, admin_ids=[99, 100])


def test_admin_cache_expires() -> None:
    now = [1000.0]
    cache = permissions.AdminCache(ttl_seconds=60, clock=lambda: now[0])
    assert not cache.fresh()
    cache.store([5, 6])
    assert cache.fresh() and cache.ids == {5, 6}
    now[0] += 61
    assert not cache.fresh()


def test_refusal_is_audited(engine: Engine, make_story: MakeStory) -> None:
    story_id = make_story(ref="SP-REF1")
    with Session(engine) as session:
        permissions.record_refusal(
            session, actor="telegram:Eve", attempted="approve", submission_id=story_id
        )
        session.commit()
        row = session.exec(select(AuditEvent).where(AuditEvent.action == "refused")).one()
    assert (row.actor, row.reason, row.submission_id) == ("telegram:Eve", "approve", story_id)


def test_reminder_lists_quarantined_and_long_waiting_stories(
    engine: Engine, make_story: MakeStory
) -> None:
    old = make_story(ref="SP-OLDW")
    make_story(ref="SP-NEWW")
    make_story(ref="SP-QUA1", state=SubmissionState.QUARANTINED)
    make_story(ref="SP-APP1", state=SubmissionState.APPROVED)
    later = utcnow() + timedelta(hours=30)
    with Session(engine) as session:
        # An edit on the old story must not reset its waiting time.
        edits.toggle_theme(session, old, actor="moderator:Ana", expected_version=2, slug="energi")
        session.commit()
        rows = reminders.reminder_rows(session, hours=24, now=later)
        assert {row.ref for row in rows} == {"SP-OLDW", "SP-NEWW", "SP-QUA1"}
        assert all(row.hours_waiting >= 29 for row in rows)
        now_rows = reminders.reminder_rows(session, hours=24)
    assert [row.ref for row in now_rows] == ["SP-QUA1"]
