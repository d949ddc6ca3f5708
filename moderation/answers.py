"""A contributor's answer to a moderator's question: attached, and the story back in review."""

from __future__ import annotations

from sqlmodel import Session, col, desc, select

from core.clock import utcnow
from core.errors import InvalidInput, InvalidTransition
from core.lifecycle import transition
from core.models import Submission
from core.notifications import enqueue
from core.states import SubmissionState
from core.stories import get_story

S = SubmissionState
MAX_ANSWER_CHARS = 4000


def story_awaiting_answer(session: Session, contributor_id: int) -> Submission | None:
    """The contributor's story in `needs_info` (the newest), whose next text answers a question."""
    statement = (
        select(Submission)
        .where(
            Submission.contributor_id == contributor_id,
            Submission.state == S.NEEDS_INFO.value,
        )
        .order_by(desc(col(Submission.updated_at)), desc(col(Submission.id)))
        .limit(1)
    )
    return session.exec(statement).first()


def attach_answer(session: Session, submission_id: int, text: str) -> Submission:
    """Attach the contributor's answer to the open question; the story returns to review.

    The bot's contributor conversation calls this with the contributor's next text when
    `story_awaiting_answer()` finds a story. Caller commits.
    """
    text = text.strip()[:MAX_ANSWER_CHARS]
    if not text:
        raise InvalidInput("the answer is empty")
    story = get_story(session, submission_id)
    if story.state != S.NEEDS_INFO:
        raise InvalidTransition(f"{story.ref} is {story.state}: no question is waiting")
    questions = [dict(item) for item in story.questions]
    open_items = [item for item in questions if not item.get("answer")]
    if open_items:
        open_items[-1]["answer"] = text
        open_items[-1]["answered_at"] = utcnow().isoformat()
    else:  # asked before questions were kept: keep the answer anyway
        questions.append({"question": None, "answer": text, "answered_at": utcnow().isoformat()})
    story.questions = questions
    session.add(story)
    transition(
        session,
        story,
        S.PENDING_REVIEW,
        actor="contributor",
        action="answer",
        reason=text,
    )
    return story


def answer_pending_question(session: Session, contributor_id: int, text: str) -> Submission | None:
    """If the contributor has a story waiting for an answer, attach `text` to it and thank them.

    The one call the contributor conversation needs: returns the story (back in review) or None
    when no question is waiting (then `text` is an ordinary message). Caller commits.
    """
    story = story_awaiting_answer(session, contributor_id)
    if story is None or story.id is None or not text.strip():
        return None
    attach_answer(session, story.id, text)
    enqueue(
        session,
        kind="answer_received",
        contributor_id=contributor_id,
        submission_id=story.id,
        params={"ref": story.ref},
    )
    return story
