"""Housekeeping that repairs what a kill left: a story whose posts are all out gets published."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.config import Settings
from core.models import Notification, Submission
from publishers.base import Receipt
from publishers.deliveries import (
    claim_due,
    load_claim,
    publish_finished_stories,
    record_sent,
)
from tests.publishers.dispatch_support import SLOT, register_test_publishers, scheduled_world

register_test_publishers()


def _sent_then_killed(engine: Engine, settings: Settings) -> None:
    """One post recorded sent, and the worker killed before it published its story (the two
    are separate transactions)."""
    for delivery_id in claim_due(engine, worker_id="w1", now=SLOT + timedelta(minutes=1), limit=1):
        with Session(engine) as session:
            claim = load_claim(session, delivery_id, "w1")
            assert claim is not None
            record_sent(
                session,
                claim,
                Receipt(f"r{delivery_id}", f"https://example.test/{delivery_id}"),
                SLOT,
                timezone=settings.timezone,
            )
            session.commit()


def test_a_story_left_scheduled_with_every_post_sent_is_published_once(
    engine: Engine, settings: Settings
) -> None:
    [first, second] = scheduled_world(engine, stories=2)
    _sent_then_killed(engine, settings)
    with Session(engine) as session:
        assert {s.state for s in session.exec(select(Submission))} == {"scheduled"}
    [ref] = publish_finished_stories(engine)
    assert publish_finished_stories(engine) == []  # once
    with Session(engine) as session:
        states = {s.ref: s.state for s in session.exec(select(Submission))}
        told = session.exec(select(Notification).where(Notification.kind == "published")).all()
    assert states[ref] == "published"
    assert sorted(states.values()) == ["published", "scheduled"]  # the other's post is unsent
    assert len(told) == 1 and told[0].submission_id in (first, second)
