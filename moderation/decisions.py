"""Moderators' decisions and edits: checked, versioned, audited, and the contributor told.

Every function takes `expected_version` (the story version the moderator saw). When someone
else acted first, `Conflict` (a `StaleVersion`) says who and what. Callers commit.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import desc, update
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.errors import InvalidInput, InvalidTransition, StaleVersion
from core.lifecycle import transition
from core.models import AuditEvent, Submission
from core.notifications import enqueue
from core.states import RejectReason, SubmissionState
from core.stories import get_story

logger = logging.getLogger(__name__)

S = SubmissionState

MAX_TEXT_CHARS = 4000
MAX_QUESTION_CHARS = 1000


class Conflict(StaleVersion):
    """Someone acted on the story first; `by`, `action` and `state` say who, what and where."""

    def __init__(
        self, ref: str, *, by: str | None, action: str | None, state: str, current_version: int
    ) -> None:
        super().__init__(
            f"{ref} was changed by {by or 'someone'} ({action or 'edit'}) and is now {state}",
            current_version=current_version,
        )
        self.ref = ref
        self.by = by
        self.action = action
        self.state = state


def actor_name(actor: str) -> str:
    """The readable part of an actor string (`moderator:Ana` → `Ana`)."""
    return actor.split(":", 1)[1] if ":" in actor else actor


def last_action(session: Session, submission_id: int) -> AuditEvent | None:
    """The newest audit row of a story that was not a refused attempt."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.submission_id == submission_id, AuditEvent.action != "refused")
        .order_by(desc(col(AuditEvent.created_at)), desc(col(AuditEvent.id)))
        .limit(1)
    )
    return session.exec(statement).first()


def conflict_for(session: Session, submission_id: int) -> Conflict:
    """The `Conflict` describing who last changed the story (after a lost compare-and-set)."""
    story = get_story(session, submission_id)
    session.refresh(story)
    event = last_action(session, submission_id)
    return Conflict(
        story.ref,
        by=None if event is None else actor_name(event.actor),
        action=None if event is None else event.action,
        state=story.state,
        current_version=story.version,
    )


def check_version(session: Session, story: Submission, expected_version: int) -> None:
    """Raise `Conflict` early when the story is already past the version the moderator saw."""
    if story.version != expected_version:
        assert story.id is not None
        raise conflict_for(session, story.id)


def _move(
    session: Session,
    story: Submission,
    target: SubmissionState,
    *,
    actor: str,
    expected_version: int,
    action: str,
    reason: str | None = None,
) -> None:
    assert story.id is not None
    story_id = story.id
    try:
        transition(
            session,
            story,
            target,
            actor=actor,
            reason=reason,
            expected_version=expected_version,
            action=action,
        )
    except StaleVersion:
        raise conflict_for(session, story_id) from None


def _bump(
    session: Session,
    story: Submission,
    *,
    actor: str,
    expected_version: int,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """Compare-and-set the version for an edit that does not change the state, then audit it."""
    assert story.id is not None
    story_id = story.id
    result = session.execute(
        update(Submission)
        .where(Submission.id == story_id, Submission.version == expected_version)  # type: ignore[arg-type]
        .values(version=expected_version + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise conflict_for(session, story_id)
    audit.record(
        session,
        actor=actor,
        action=action,
        submission_id=story_id,
        from_state=story.state,
        to_state=story.state,
        before=before,
        after=after,
    )
    session.flush()
    session.refresh(story)


def require_state(story: Submission, allowed: set[SubmissionState], what: str) -> None:
    if SubmissionState(story.state) not in allowed:
        raise InvalidTransition(f"{story.ref} is {story.state}: cannot {what}")


#: The flag of a story with a photo fetched after the pipeline ran (stored, not yet processed).
LATE_PHOTO_FLAG = "photo_late"

EDITABLE = {S.PENDING_REVIEW, S.NEEDS_INFO, S.QUARANTINED, S.APPROVED, S.REJECTED}


def open_story(
    session: Session, submission_id: int, expected_version: int, *, editing: str | None = None
) -> Submission:
    """Load the story and check the version the moderator saw (and, for an edit, its state)."""
    story = get_story(session, submission_id)
    check_version(session, story, expected_version)
    if editing is not None:
        require_state(story, EDITABLE, editing)
    return story


def record_edit(
    session: Session,
    story: Submission,
    *,
    actor: str,
    expected_version: int,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
    **fields: Any,
) -> Submission:
    """Version-check and audit an edit (`before` → `after`), then set `fields` on the story."""
    _bump(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action=action,
        before=before,
        after=after,
    )
    for name, value in fields.items():
        setattr(story, name, value)
    session.add(story)
    session.flush()
    return story


def approve(
    session: Session, submission_id: int, *, actor: str, expected_version: int
) -> Submission:
    """Approve a story for publication and tell the contributor."""
    story = open_story(session, submission_id, expected_version)
    if story.state == S.QUARANTINED:
        # A quarantined story goes back to review first, in the same audited way.
        _move(
            session,
            story,
            S.PENDING_REVIEW,
            actor=actor,
            expected_version=expected_version,
            action="release",
        )
        expected_version = story.version
    story.decided_by = actor_name(actor)
    story.decided_at = utcnow()
    story.reject_reason = story.reject_note = None
    session.add(story)
    _move(
        session, story, S.APPROVED, actor=actor, expected_version=expected_version, action="approve"
    )
    enqueue(
        session,
        kind="approved",
        contributor_id=story.contributor_id,
        submission_id=story.id,
        params={"ref": story.ref},
    )
    logger.info("story %s approved", story.ref)
    return story


def reject(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    expected_version: int,
    reason: str,
    note: str | None = None,
) -> Submission:
    """Reject a story with a reason code (and a typed note for `other`); tell the contributor."""
    try:
        code = RejectReason(reason)
    except ValueError:
        raise InvalidInput(f"unknown reason {reason!r}") from None
    note = (note or "").strip() or None
    if code is RejectReason.OTHER and not note:
        raise InvalidInput("the reason 'other' needs a note")
    story = open_story(session, submission_id, expected_version)
    story.reject_reason = code.value
    story.reject_note = note
    story.decided_by = actor_name(actor)
    story.decided_at = utcnow()
    session.add(story)
    _move(
        session,
        story,
        S.REJECTED,
        actor=actor,
        expected_version=expected_version,
        action="reject",
        reason=code.value if note is None else f"{code.value}: {note}",
    )
    params: dict[str, Any] = {"ref": story.ref, "reason": code.value}
    if code is RejectReason.OTHER:
        params["note"] = note  # the typed reason is what the contributor is told
    enqueue(
        session,
        kind="rejected",
        contributor_id=story.contributor_id,
        submission_id=story.id,
        params=params,
    )
    logger.info("story %s rejected (%s)", story.ref, code.value)
    return story


def ask(
    session: Session, submission_id: int, *, actor: str, expected_version: int, question: str
) -> Submission:
    """Ask the contributor a question; the story waits in `needs_info` for their answer."""
    question = question.strip()
    if not question:
        raise InvalidInput("the question is empty")
    question = question[:MAX_QUESTION_CHARS]
    story = open_story(session, submission_id, expected_version)
    if story.state == S.NEEDS_INFO:
        # A second question while the first is unanswered: keep the state, bump the version.
        _bump(
            session,
            story,
            actor=actor,
            expected_version=expected_version,
            action="ask",
            before={},
            after={"question": question},
        )
    else:
        _move(
            session,
            story,
            S.NEEDS_INFO,
            actor=actor,
            expected_version=expected_version,
            action="ask",
            reason=question,
        )
    story.questions = [
        *story.questions,
        {
            "question": question,
            "asked_by": actor_name(actor),
            "asked_at": utcnow().isoformat(),
            "answer": None,
            "answered_at": None,
        },
    ]
    session.add(story)
    enqueue(
        session,
        kind="question",
        contributor_id=story.contributor_id,
        submission_id=story.id,
        params={"ref": story.ref, "question": question},
    )
    session.flush()
    return story


def accept_late_photos(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    expected_version: int,
    media_ids: list[int],
) -> Submission:
    """Record that photos fetched after the pipeline now belong to the story (clears the flag).

    The caller has made their renditions; this is the moderator's decision to show them.
    """
    story = open_story(session, submission_id, expected_version, editing="add a late photo")
    flags = [flag for flag in story.flags if flag.get("kind") != LATE_PHOTO_FLAG]
    return record_edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action="late_photos",
        before={"flags": [flag.get("kind") for flag in story.flags]},
        after={"media_ids": media_ids},
        flags=flags,
    )


def quarantine(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    expected_version: int,
    reason: str | None = None,
) -> Submission:
    """Hold a story aside (spam, unsafe) until a moderator looks again."""
    story = open_story(session, submission_id, expected_version)
    _move(
        session,
        story,
        S.QUARANTINED,
        actor=actor,
        expected_version=expected_version,
        action="quarantine",
        reason=reason,
    )
    return story


def release(
    session: Session, submission_id: int, *, actor: str, expected_version: int
) -> Submission:
    """Bring a quarantined or rejected story back to review."""
    story = open_story(session, submission_id, expected_version)
    _move(
        session,
        story,
        S.PENDING_REVIEW,
        actor=actor,
        expected_version=expected_version,
        action="release",
    )
    return story
