"""Decisions and edits: state, version, audit rows and the contributor's notifications."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.audit import history
from core.errors import InvalidInput, InvalidTransition, StaleVersion
from core.models import Notification, Submission
from moderation import answers, decisions, edits
from moderation.decisions import Conflict, RejectReason
from tests.moderation.conftest import MakeStory, version_of

ANA = "moderator:Ana"
BUDI = "moderator:Budi"


def _story(engine: Engine, story_id: int) -> Submission:
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        return story


def _notifications(engine: Engine, story_id: int) -> list[Notification]:
    with Session(engine) as session:
        rows = session.exec(
            select(Notification).where(Notification.submission_id == story_id)
        ).all()
        return list(rows)


def test_approve_moves_audits_and_notifies(engine: Engine, make_story: MakeStory) -> None:
    story_id = make_story(ref="SP-AAAA")
    with Session(engine) as session:
        decisions.approve(session, story_id, actor=ANA, expected_version=2)
        session.commit()
    story = _story(engine, story_id)
    assert (story.state, story.version, story.decided_by) == ("approved", 3, "Ana")
    with Session(engine) as session:
        last = history(session, submission_id=story_id)[-1]
    assert (last.actor, last.action, last.from_state, last.to_state) == (
        ANA,
        "approve",
        "pending_review",
        "approved",
    )
    [note] = _notifications(engine, story_id)
    assert (note.kind, note.params, note.contributor_id, note.state) == (
        "approved",
        {"ref": "SP-AAAA"},
        story.contributor_id,
        "pending",
    )


@pytest.mark.parametrize("reason", [r.value for r in RejectReason])
def test_reject_with_each_reason(engine: Engine, make_story: MakeStory, reason: str) -> None:
    story_id = make_story(ref="SP-REJ1")
    note = "Sudah ada liputan yang sama minggu lalu" if reason == "other" else None
    with Session(engine) as session:
        decisions.reject(
            session, story_id, actor=BUDI, expected_version=2, reason=reason, note=note
        )
        session.commit()
    story = _story(engine, story_id)
    assert (story.state, story.reject_reason, story.reject_note) == ("rejected", reason, note)
    [row] = _notifications(engine, story_id)
    assert row.kind == "rejected"
    assert row.params["reason"] == reason
    assert row.params.get("note") == note
    with Session(engine) as session:
        assert history(session, submission_id=story_id)[-1].reason.startswith(reason)  # type: ignore[union-attr]


def test_reject_other_needs_a_note_and_unknown_reason_is_refused(
    engine: Engine, make_story: MakeStory
) -> None:
    story_id = make_story(ref="SP-REJ2")
    with Session(engine) as session:
        with pytest.raises(InvalidInput, match="note"):
            decisions.reject(session, story_id, actor=ANA, expected_version=2, reason="other")
        with pytest.raises(InvalidInput):
            decisions.reject(session, story_id, actor=ANA, expected_version=2, reason="boring")
    assert _story(engine, story_id).state == "pending_review"
    assert _notifications(engine, story_id) == []


def test_question_and_answer_round_trip(engine: Engine, make_story: MakeStory) -> None:
    story_id = make_story(ref="SP-ASK1")
    with Session(engine) as session:
        decisions.ask(
            session, story_id, actor=ANA, expected_version=2, question="Kapan kejadiannya?"
        )
        session.commit()
    story = _story(engine, story_id)
    assert story.state == "needs_info"
    [row] = _notifications(engine, story_id)
    assert (row.kind, row.params["question"]) == ("question", "Kapan kejadiannya?")
    with Session(engine) as session:
        waiting = answers.story_awaiting_answer(session, story.contributor_id)
        assert waiting is not None and waiting.id == story_id
        answers.attach_answer(session, story_id, "  Tadi malam jam 2.  ")
        session.commit()
    story = _story(engine, story_id)
    assert story.state == "pending_review"
    assert story.questions[0]["question"] == "Kapan kejadiannya?"
    assert story.questions[0]["asked_by"] == "Ana"
    assert story.questions[0]["answer"] == "Tadi malam jam 2."
    with Session(engine) as session:
        assert answers.story_awaiting_answer(session, story.contributor_id) is None
        last = history(session, submission_id=story_id)[-1]
        assert (last.actor, last.action, last.to_state) == (
            "contributor",
            "answer",
            "pending_review",
        )
        with pytest.raises(InvalidTransition):
            answers.attach_answer(session, story_id, "again")


def test_edits_keep_the_original_and_are_audited_with_before_and_after(
    engine: Engine, make_story: MakeStory
) -> None:
    story_id = make_story(ref="SP-EDIT")
    with Session(engine) as session:
        edits.edit_text(
            session, story_id, actor=ANA, expected_version=2, text="Rob masuk rumah warga."
        )
        edits.toggle_theme(session, story_id, actor=ANA, expected_version=3, slug="abrasi")
        edits.toggle_theme(session, story_id, actor=ANA, expected_version=4, slug="banjir-rob")
        edits.set_place(
            session,
            story_id,
            actor=ANA,
            expected_version=5,
            place_id="kel-lasiana",
            name="Lasiana",
            kind="kelurahan",
        )
        edits.force_anonymous(session, story_id, actor=ANA, expected_version=6)
        session.commit()
    story = _story(engine, story_id)
    assert story.text == "Air rob masuk rumah di Oesapa tadi malam."
    assert story.public_text == "Rob masuk rumah warga."
    assert [t["slug"] for t in story.themes] == ["abrasi"]
    assert (story.place_id, story.place_name, story.place_source) == (
        "kel-lasiana",
        "Lasiana",
        "moderator",
    )
    assert story.force_anonymous is True
    assert (story.state, story.version) == ("pending_review", 7)
    with Session(engine) as session:
        rows = [(e.action, e.before, e.after) for e in history(session, submission_id=story_id)]
    assert rows[-5:] == [
        ("edit_text", {"public_text": None}, {"public_text": "Rob masuk rumah warga."}),
        ("themes", {"themes": ["banjir-rob"]}, {"themes": ["banjir-rob", "abrasi"]}),
        ("themes", {"themes": ["banjir-rob", "abrasi"]}, {"themes": ["abrasi"]}),
        (
            "place",
            {"place_id": "kel-oesapa", "place_name": "Oesapa"},
            {"place_id": "kel-lasiana", "place_name": "Lasiana"},
        ),
        ("force_anonymous", {"force_anonymous": False}, {"force_anonymous": True}),
    ]
    assert _notifications(engine, story_id) == []  # edits do not bother the contributor


def test_unknown_theme_and_empty_text_are_refused(engine: Engine, make_story: MakeStory) -> None:
    story_id = make_story(ref="SP-BAD1")
    with Session(engine) as session:
        with pytest.raises(InvalidInput):
            edits.toggle_theme(session, story_id, actor=ANA, expected_version=2, slug="x")
        with pytest.raises(InvalidInput):
            edits.edit_text(session, story_id, actor=ANA, expected_version=2, text="  ")
    assert version_of(engine, story_id) == 2


def test_quarantine_then_approve_releases_first(engine: Engine, make_story: MakeStory) -> None:
    story_id = make_story(ref="SP-QUAR")
    with Session(engine) as session:
        decisions.quarantine(session, story_id, actor=ANA, expected_version=2, reason="spam?")
        session.commit()
    assert _story(engine, story_id).state == "quarantined"
    with Session(engine) as session:
        decisions.approve(session, story_id, actor=BUDI, expected_version=3)
        session.commit()
        actions = [e.action for e in history(session, submission_id=story_id)]
    assert actions[-3:] == ["quarantine", "release", "approve"]
    assert _story(engine, story_id).state == "approved"


def test_two_moderators_racing_one_wins_the_other_learns_who(
    engine: Engine, make_story: MakeStory
) -> None:
    story_id = make_story(ref="SP-RACE")
    with Session(engine) as first, Session(engine) as second:
        first.get(Submission, story_id)
        second.get(Submission, story_id)  # both saw version 2
        decisions.approve(first, story_id, actor=ANA, expected_version=2)
        first.commit()
        with pytest.raises(Conflict) as raised:
            decisions.reject(second, story_id, actor=BUDI, expected_version=2, reason="not_climate")
    assert isinstance(raised.value, StaleVersion)
    assert (raised.value.by, raised.value.action, raised.value.state) == (
        "Ana",
        "approve",
        "approved",
    )
    assert raised.value.current_version == 3
    assert _story(engine, story_id).state == "approved"
    assert [n.kind for n in _notifications(engine, story_id)] == ["approved"]


def test_lost_compare_and_set_in_the_database_reports_the_winner(
    engine: Engine, make_story: MakeStory
) -> None:
    """The second writer had loaded the old row before the first committed."""
    story_id = make_story(ref="SP-RAC2")
    with Session(engine) as first, Session(engine) as second:
        stale = second.get(Submission, story_id)
        assert stale is not None and stale.version == 2
        edits.toggle_theme(first, story_id, actor=ANA, expected_version=2, slug="abrasi")
        first.commit()
        with pytest.raises(Conflict) as raised:
            # `second` still holds version 2 in its identity map: the UPDATE ... WHERE loses.
            edits.toggle_theme(second, story_id, actor=BUDI, expected_version=2, slug="energi")
    assert raised.value.by == "Ana"
    assert raised.value.action == "themes"


def test_decision_on_a_withdrawn_story_is_invalid(engine: Engine, make_story: MakeStory) -> None:
    story_id = make_story(ref="SP-GONE")
    with Session(engine) as session:
        decisions.approve(session, story_id, actor=ANA, expected_version=2)
        session.commit()
    with Session(engine) as session, pytest.raises(InvalidTransition):
        decisions.ask(session, story_id, actor=ANA, expected_version=3, question="Kapan?")
