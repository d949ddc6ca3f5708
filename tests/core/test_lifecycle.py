"""The lifecycle function: allowed moves, audit rows, optimistic locking."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import history
from core.errors import InvalidTransition, StaleVersion
from core.lifecycle import transition
from core.models import Contributor, Submission
from core.states import SubmissionState


def _story(engine: Engine) -> int:
    with Session(engine) as session:
        person = Contributor(telegram_user_id=1001)
        session.add(person)
        session.flush()
        story = Submission(ref="SP-TEST", contributor_id=person.id, state="received")
        session.add(story)
        session.commit()
        assert story.id is not None
        return story.id


def test_allowed_move_bumps_version_and_is_audited(engine: Engine) -> None:
    story_id = _story(engine)
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        transition(session, story, SubmissionState.PENDING_REVIEW, actor="pipeline")
        session.commit()
        assert story.state == "pending_review"
        assert story.version == 2
        rows = history(session, submission_id=story_id)
        assert [(r.actor, r.from_state, r.to_state) for r in rows] == [
            ("pipeline", "received", "pending_review")
        ]


def test_forbidden_move_is_refused(engine: Engine) -> None:
    story_id = _story(engine)
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        with pytest.raises(InvalidTransition):
            transition(session, story, SubmissionState.PUBLISHED, actor="pipeline")


def test_second_of_two_racing_writers_loses(engine: Engine) -> None:
    story_id = _story(engine)
    with Session(engine) as first, Session(engine) as second:
        a = first.get(Submission, story_id)
        b = second.get(Submission, story_id)
        assert a is not None and b is not None
        transition(first, a, SubmissionState.PENDING_REVIEW, actor="pipeline")
        first.commit()
        with pytest.raises(StaleVersion) as raised:
            transition(second, b, SubmissionState.QUARANTINED, actor="pipeline")
        assert raised.value.current_version == 2


def test_losing_a_race_keeps_the_callers_earlier_work(engine: Engine) -> None:
    """A lost compare-and-set writes nothing and undoes nothing else in the transaction."""
    story_id = _story(engine)
    with Session(engine) as session:
        other = Submission(ref="SP-OTHR", contributor_id=1, state="received")
        session.add(other)
        session.commit()
        assert other.id is not None
        other_id = other.id
    with Session(engine) as first, Session(engine) as second:
        mine = second.get(Submission, other_id)
        stale = second.get(Submission, story_id)
        assert mine is not None and stale is not None
        a = first.get(Submission, story_id)
        assert a is not None
        transition(first, a, SubmissionState.PENDING_REVIEW, actor="pipeline")
        first.commit()
        transition(second, mine, SubmissionState.PENDING_REVIEW, actor="pipeline")
        with pytest.raises(StaleVersion):
            transition(second, stale, SubmissionState.QUARANTINED, actor="pipeline")
        assert stale.state == "pending_review" and stale.version == 2  # refreshed
        second.commit()
    with Session(engine) as session:
        kept = session.get(Submission, other_id)
        assert kept is not None and kept.state == "pending_review"
