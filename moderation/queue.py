"""The review queue: stories waiting for a moderator, filtered, as rows for lists.

One story in full is its moderators' view, `core.projections.moderator_story`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from core.errors import InvalidInput
from core.models import Media, Submission
from core.projections import theme_slugs
from core.states import SubmissionState

#: States a moderator is expected to act on.
REVIEW_STATES = (
    SubmissionState.PENDING_REVIEW,
    SubmissionState.NEEDS_INFO,
    SubmissionState.QUARANTINED,
)


def list_stories(
    session: Session,
    *,
    status: str | None = None,
    theme: str | None = None,
    place: str | None = None,
    search: str | None = None,
    limit: int = 200,
) -> list[Submission]:
    """Stories oldest first, filtered; without `status`, the ones waiting for a moderator.

    `status` may be a state name or `all`; `place` matches the gazetteer id or the place name;
    `search` looks in the text and the edited text.
    """
    statement = select(Submission)
    if status is None:
        statement = statement.where(col(Submission.state).in_([s.value for s in REVIEW_STATES]))
    elif status != "all":
        if status not in {state.value for state in SubmissionState}:
            raise InvalidInput(f"unknown state {status!r}")
        statement = statement.where(Submission.state == status)
    else:
        statement = statement.where(Submission.state != SubmissionState.DRAFT.value)
    if place:
        pattern = _contains(place)
        statement = statement.where(
            or_(
                col(Submission.place_id) == place,
                func.lower(col(Submission.place_name)).like(pattern, escape="\\"),
            )
        )
    if search:
        pattern = _contains(search)
        statement = statement.where(
            or_(
                func.lower(col(Submission.text)).like(pattern, escape="\\"),
                func.lower(col(Submission.public_text)).like(pattern, escape="\\"),
            )
        )
    statement = statement.order_by(
        col(Submission.submitted_at), col(Submission.created_at), col(Submission.id)
    )
    stories = list(session.exec(statement))
    # Themes are a JSON list; filtering in Python keeps one query for SQLite and PostgreSQL.
    if theme:
        stories = [story for story in stories if theme in theme_slugs(story)]
    return stories[:limit]


def media_counts(session: Session, submission_ids: list[int]) -> dict[int, int]:
    """How many live media each story has."""
    if not submission_ids:
        return {}
    statement = (
        select(Media.submission_id, func.count())
        .where(col(Media.submission_id).in_(submission_ids), col(Media.deleted_at).is_(None))
        .group_by(col(Media.submission_id))
    )
    return {int(sid): int(count) for sid, count in session.exec(statement)}


def summary_row(story: Submission, media_count: int) -> dict[str, Any]:
    """A story as a plain dict for `--json` output (no coordinates, no Telegram ids)."""
    return {
        "ref": story.ref,
        "state": story.state,
        "version": story.version,
        "created_at": story.created_at.isoformat(),
        "submitted_at": story.submitted_at.isoformat() if story.submitted_at else None,
        "text": story.text,
        "public_text": story.public_text,
        "media_count": media_count,
        "place": story.place_name,
        "themes": list(theme_slugs(story)),
        "consent": story.consent,
        "force_anonymous": story.force_anonymous,
    }


def _contains(words: str) -> str:
    """A LIKE pattern matching `words` anywhere, literally (`%` and `_` are not wildcards)."""
    escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
