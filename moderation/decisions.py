"""Moderators' decisions and edits: checked, versioned, audited, and the contributor told.

Every function takes `expected_version` (the story version the moderator saw). When someone
else acted first, `Conflict` (a `StaleVersion`) says who and what. Callers commit.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from sqlalchemy import desc, update
from sqlmodel import Session, col, select

from core import audit, personal_data, taxonomy
from core.clock import utcnow
from core.errors import InvalidInput, InvalidTransition, StaleVersion
from core.lifecycle import transition
from core.models import AuditEvent, Submission
from core.notifications import enqueue
from core.projections import VOICE_FLAGS, published_text, story_transcript
from core.states import SubmissionState
from core.stories import get_story

logger = logging.getLogger(__name__)

S = SubmissionState

MAX_TEXT_CHARS = 4000
MAX_QUESTION_CHARS = 1000


class RejectReason(StrEnum):
    """Why a story is not published (catalog `moderation.reason.<code>`, `notify.reason.<code>`)."""

    NOT_CLIMATE = "not_climate"
    PHOTO_UNCLEAR = "photo_unclear"
    DUPLICATE = "duplicate"
    COULD_ENDANGER = "could_endanger"
    CANNOT_VERIFY = "cannot_verify"
    OTHER = "other"


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


def _check_version(session: Session, story: Submission, expected_version: int) -> None:
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


def _require_state(story: Submission, allowed: set[SubmissionState], what: str) -> None:
    if SubmissionState(story.state) not in allowed:
        raise InvalidTransition(f"{story.ref} is {story.state}: cannot {what}")


#: The flag of a story with a photo fetched after the pipeline ran (stored, not yet processed).
LATE_PHOTO_FLAG = "photo_late"

EDITABLE = {S.PENDING_REVIEW, S.NEEDS_INFO, S.QUARANTINED, S.APPROVED, S.REJECTED}


def _open(
    session: Session, submission_id: int, expected_version: int, *, editing: str | None = None
) -> Submission:
    """Load the story and check the version the moderator saw (and, for an edit, its state)."""
    story = get_story(session, submission_id)
    _check_version(session, story, expected_version)
    if editing is not None:
        _require_state(story, EDITABLE, editing)
    return story


def _edit(
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
    story = _open(session, submission_id, expected_version)
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
    story = _open(session, submission_id, expected_version)
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
    story = _open(session, submission_id, expected_version)
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


def toggle_theme(
    session: Session, submission_id: int, *, actor: str, expected_version: int, slug: str
) -> Submission:
    """Add the theme `slug` to the story, or remove it when it is there."""
    if not taxonomy.is_theme(slug):
        raise InvalidInput(f"unknown theme {slug!r}")
    story = _open(session, submission_id, expected_version, editing="change themes")
    before = [str(theme.get("slug")) for theme in story.themes]
    if slug in before:
        themes = [theme for theme in story.themes if theme.get("slug") != slug]
    else:
        themes = [*story.themes, {"slug": slug, "score": 1.0, "evidence": [], "by": "moderator"}]
    after = [str(theme.get("slug")) for theme in themes]
    return _edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action="themes",
        before={"themes": before},
        after={"themes": after},
        themes=themes,
    )


def set_themes(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    expected_version: int,
    slugs: list[str],
) -> Submission:
    """Set exactly these themes (the tagger's evidence stays on the ones that remain)."""
    unknown = [slug for slug in slugs if not taxonomy.is_theme(slug)]
    if unknown:
        raise InvalidInput(f"unknown theme {unknown[0]!r}")
    wanted = list(dict.fromkeys(slugs))
    story = _open(session, submission_id, expected_version, editing="change themes")
    before = [str(theme.get("slug")) for theme in story.themes]
    kept = {str(theme.get("slug")): theme for theme in story.themes}
    themes = [
        kept.get(slug) or {"slug": slug, "score": 1.0, "evidence": [], "by": "moderator"}
        for slug in wanted
    ]
    return _edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action="themes",
        before={"themes": before},
        after={"themes": wanted},
        themes=themes,
    )


def set_place(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    expected_version: int,
    place_id: str | None,
    name: str,
    kind: str | None = None,
) -> Submission:
    """Set the story's public place: a gazetteer place resolved by the caller, or a typed name.

    Moderation does not search the gazetteer (that lives in `pipeline`, above us): the bot or
    the CLI resolves the name and passes `(place_id, name, kind)`; a typed name that matched
    nothing comes with `place_id=None`.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("the place name is empty")
    story = _open(session, submission_id, expected_version, editing="change the place")
    return _edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action="place",
        before={"place_id": story.place_id, "place_name": story.place_name},
        after={"place_id": place_id, "place_name": name},
        place_id=place_id,
        place_name=name,
        place_kind=kind,
        place_source="moderator",
        place_evidence=None,
    )


def edit_text(
    session: Session, submission_id: int, *, actor: str, expected_version: int, text: str
) -> Submission:
    """Set the public text; the contributor's original stays in `text`."""
    text = text.strip()
    if not text:
        raise InvalidInput("the text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"the text is longer than {MAX_TEXT_CHARS} characters")
    story = _open(session, submission_id, expected_version, editing="edit the text")
    return _set_public_text(
        session, story, text, actor=actor, expected_version=expected_version, action="edit_text"
    )


def _set_public_text(
    session: Session,
    story: Submission,
    text: str,
    *,
    actor: str,
    expected_version: int,
    action: str,
) -> Submission:
    """A moderator chose the text that goes out: a transcript needs no acceptance now."""
    return _edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action=action,
        before={"public_text": story.public_text},
        after={"public_text": text},
        public_text=text,
        flags=[flag for flag in story.flags if flag.get("kind") not in VOICE_FLAGS],
    )


def accept_transcript(
    session: Session, submission_id: int, *, actor: str, expected_version: int
) -> Submission:
    """A moderator listened and accepts the automatic transcript as the public text.

    The public text becomes the typed text (as it would be published) followed by the
    transcript, with personal data in the transcript masked as in a contributor's text.
    """
    story = _open(session, submission_id, expected_version, editing="accept the transcript")
    assert story.id is not None
    transcript = story_transcript(session, story.id)
    if transcript is None:
        raise InvalidInput(f"{story.ref} has no automatic transcript to accept")
    spoken = personal_data.mask(transcript, lang=story.lang)
    typed = published_text(story) if story.text else None
    text = "\n\n".join(part for part in (typed, spoken) if part)[:MAX_TEXT_CHARS]
    return _set_public_text(
        session,
        story,
        text,
        actor=actor,
        expected_version=expected_version,
        action="accept_transcript",
    )


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
    story = _open(session, submission_id, expected_version, editing="add a late photo")
    flags = [flag for flag in story.flags if flag.get("kind") != LATE_PHOTO_FLAG]
    return _edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action="late_photos",
        before={"flags": [flag.get("kind") for flag in story.flags]},
        after={"media_ids": media_ids},
        flags=flags,
    )


def force_anonymous(
    session: Session,
    submission_id: int,
    *,
    actor: str,
    expected_version: int,
    value: bool = True,
) -> Submission:
    """Publish without the contributor's name even if they chose to be named (or undo it)."""
    story = _open(session, submission_id, expected_version, editing="change anonymity")
    return _edit(
        session,
        story,
        actor=actor,
        expected_version=expected_version,
        action="force_anonymous",
        before={"force_anonymous": story.force_anonymous},
        after={"force_anonymous": value},
        force_anonymous=value,
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
    story = _open(session, submission_id, expected_version)
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
    story = _open(session, submission_id, expected_version)
    _move(
        session,
        story,
        S.PENDING_REVIEW,
        actor=actor,
        expected_version=expected_version,
        action="release",
    )
    return story
