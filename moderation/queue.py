"""The review queue: find stories, show one with its contributor as a pseudonym and history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from core import audit
from core.errors import InvalidInput, NotFound
from core.models import AuditEvent, Contributor, Media, Submission
from core.states import SubmissionState

#: States a moderator is expected to act on.
REVIEW_STATES = (
    SubmissionState.PENDING_REVIEW,
    SubmissionState.NEEDS_INFO,
    SubmissionState.QUARANTINED,
)


@dataclass(frozen=True)
class ContributorSummary:
    """How moderators see a contributor: a stable number, never a name or Telegram id."""

    number: int
    previous: int  # stories submitted before this one
    published: int  # of those, how many were published

    @property
    def pseudonym(self) -> str:
        """`Kontributor #12` (the label is the same in both languages)."""
        return f"Kontributor #{self.number}"


@dataclass
class StoryDetails:
    """Everything a moderator needs to decide on one story."""

    story: Submission
    media: list[Media]
    contributor: ContributorSummary
    duplicate_ref: str | None = None
    history: list[AuditEvent] = field(default_factory=list)
    public_name: str | None = None  # only when the contributor chose to be named


def get_by_ref(session: Session, ref: str) -> Submission:
    """The story with this reference (case-insensitive, `SP-` optional), or `NotFound`."""
    wanted = ref.strip().upper()
    if wanted and not wanted.startswith("SP-"):
        wanted = f"SP-{wanted}"
    story = session.exec(select(Submission).where(Submission.ref == wanted)).first()
    if story is None:
        raise NotFound(f"no story {ref!r}")
    return story


def get(session: Session, submission_id: int) -> Submission:
    """The story with this id, or `NotFound`."""
    story = session.get(Submission, submission_id)
    if story is None:
        raise NotFound(f"no story #{submission_id}")
    return story


def theme_slugs(story: Submission) -> list[str]:
    """The slugs of a story's themes, in stored order."""
    return [str(theme.get("slug")) for theme in story.themes if theme.get("slug")]


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


def media_of(session: Session, submission_id: int) -> list[Media]:
    """The story's media that still exist, in order."""
    statement = (
        select(Media)
        .where(Media.submission_id == submission_id, col(Media.deleted_at).is_(None))
        .order_by(col(Media.position), col(Media.id))
    )
    return list(session.exec(statement))


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


def contributor_summary(session: Session, story: Submission) -> ContributorSummary:
    """The contributor's pseudonym number, earlier stories and how many were published."""
    contributor = session.get(Contributor, story.contributor_id)
    if contributor is None or contributor.id is None:
        raise NotFound(f"no contributor for {story.ref}")
    earlier = list(
        session.exec(
            select(Submission.state).where(
                Submission.contributor_id == contributor.id,
                Submission.id != story.id,
                Submission.state != SubmissionState.DRAFT.value,
                col(Submission.created_at) <= story.created_at,
            )
        )
    )
    published = sum(1 for state in earlier if state == SubmissionState.PUBLISHED.value)
    return ContributorSummary(number=contributor.id, previous=len(earlier), published=published)


def show(session: Session, ref: str) -> StoryDetails:
    """One story with its media, contributor summary, duplicate reference and audit history."""
    story = get_by_ref(session, ref)
    return details(session, story)


def details(session: Session, story: Submission) -> StoryDetails:
    """`show()` for a story already loaded."""
    assert story.id is not None
    duplicate_ref = None
    if story.duplicate_of_id is not None:
        original = session.get(Submission, story.duplicate_of_id)
        duplicate_ref = None if original is None else original.ref
    public_name = None
    if story.consent == "named":
        person = session.get(Contributor, story.contributor_id)
        public_name = None if person is None else person.public_name
    return StoryDetails(
        public_name=public_name,
        story=story,
        media=media_of(session, story.id),
        contributor=contributor_summary(session, story),
        duplicate_ref=duplicate_ref,
        history=audit.history(session, submission_id=story.id),
    )


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
        "themes": theme_slugs(story),
        "consent": story.consent,
        "force_anonymous": story.force_anonymous,
    }


def audit_row(event: AuditEvent) -> dict[str, Any]:
    """An audit event as a plain dict."""
    return {
        "at": event.created_at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "reason": event.reason,
        "before": event.before,
        "after": event.after,
    }


def _contains(words: str) -> str:
    """A LIKE pattern matching `words` anywhere, literally (`%` and `_` are not wildcards)."""
    escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
