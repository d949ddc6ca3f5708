"""The views of a story that open-data exports and policy briefs are made from (the projections
of `core.projections` for reports).

`OpenStory` is one row of an export: public fields only, read a page at a time so a million
stories fit in bounded memory. `BriefQuote` is a story quoted in a brief. Neither carries an
exact point, a Telegram id, a phone number, a NIK or an e-mail address; a name only where the
contributor chose to be named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session, col

from core import personal_data
from core.models import Contributor, Media, Submission
from core.projections import (
    APPROVED_STATES,
    StoryText,
    credit_for,
    credit_name,
    public_images,
    published_text,
    slugs_of,
    theme_slugs,
)
from core.states import IMAGE_KINDS, SOCIAL_CONSENTS


def shareable_text(story: StoryText) -> str | None:
    """The published text with personal data masked even in a moderator's edit: exports and
    briefs never carry a phone number, NIK or e-mail address (a moderator's link stays)."""
    if story.public_text:
        return personal_data.mask(
            story.public_text, kinds=personal_data.PERSONAL_KINDS, lang=story.lang
        )
    return published_text(story)


@dataclass(frozen=True)
class OpenStory:
    """A story as an open-data export carries it: public fields only (README, Privacy).

    The text only for an approved story whose consent allows publishing; a name only where the
    contributor chose to be named; the public place, never the exact point.
    """

    id: int
    ref: str
    state: str
    submitted_at: datetime | None
    published_at: datetime | None
    lang: str | None
    consent: str | None
    themes: tuple[str, ...]
    place_id: str | None
    place_name: str | None
    place_kind: str | None
    credit_name: str | None
    text: str | None
    photo_count: int
    post_links: tuple[str, ...] = ()


#: The columns `open_stories` reads: nothing private is selected.
_OPEN_COLUMNS: tuple[Any, ...] = (
    col(Submission.id),
    col(Submission.ref),
    col(Submission.state),
    col(Submission.submitted_at),
    col(Submission.published_at),
    col(Submission.lang),
    col(Submission.consent),
    col(Submission.force_anonymous),
    col(Submission.themes),
    col(Submission.place_id),
    col(Submission.place_name),
    col(Submission.place_kind),
    col(Submission.text),
    col(Submission.public_text),
    col(Contributor.public_name),
    col(Contributor.erased_at).label("contributor_erased_at"),
)


def open_story_query(conditions: Sequence[Any]) -> Select[Any]:
    """The stories matching `conditions` with the columns `open_story` reads, by id."""
    return (
        select(*_OPEN_COLUMNS)
        .join(Contributor, col(Contributor.id) == Submission.contributor_id, isouter=True)
        .where(*conditions)
        .order_by(col(Submission.id))
    )


def open_story(row: Any, *, photo_count: int) -> OpenStory:
    """One row of `open_story_query` as an export carries it."""
    shared = row.state in APPROVED_STATES and row.consent in SOCIAL_CONSENTS
    return OpenStory(
        id=row.id,
        ref=row.ref,
        state=row.state,
        submitted_at=row.submitted_at,
        published_at=row.published_at,
        lang=row.lang,
        consent=row.consent,
        themes=slugs_of(row.themes),
        place_id=row.place_id,
        place_name=row.place_name,
        place_kind=row.place_kind,
        credit_name=credit_for(
            row.consent, row.force_anonymous, row.public_name, row.contributor_erased_at is not None
        ),
        text=shareable_text(row) if shared else None,
        photo_count=photo_count,
    )


def open_stories(
    session: Session, conditions: Sequence[Any], *, after_id: int = 0, limit: int = 1000
) -> list[OpenStory]:
    """One page of stories matching `conditions` with an id above `after_id`, by id (keyset
    pagination: a million stories are read a page at a time)."""
    query = open_story_query([col(Submission.id) > after_id, *conditions]).limit(limit)
    rows = session.execute(query).all()
    photos = public_photo_counts(session, [row.id for row in rows])
    return [open_story(row, photo_count=photos.get(row.id, 0)) for row in rows]


def public_photo_counts(
    session: Session, submission_ids: Sequence[int] | Select[Any]
) -> dict[int, int]:
    """How many photos with renditions (the ones that may go out) each story has; the
    stories by id, or a query of their ids."""
    if isinstance(submission_ids, Sequence) and not submission_ids:
        return {}
    wanted = submission_ids if isinstance(submission_ids, Select) else list(submission_ids)
    rows = session.execute(
        select(col(Media.submission_id), col(Media.renditions)).where(
            col(Media.submission_id).in_(wanted),
            col(Media.kind).in_(IMAGE_KINDS),
            col(Media.deleted_at).is_(None),
            col(Media.error).is_(None),
        )
    )
    counts: dict[int, int] = {}
    for submission_id, renditions in rows:
        if renditions:
            counts[submission_id] = counts.get(submission_id, 0) + 1
    return counts


def count_stories(session: Session, conditions: Sequence[Any]) -> int:
    """How many stories match `conditions`."""
    return int(
        session.execute(
            select(func.count()).select_from(Submission).where(*conditions)
        ).scalar_one()
    )


@dataclass(frozen=True)
class BriefQuote:
    """A story quoted in a policy brief: approved, its text masked, a name only where chosen
    (an `internal` story is quoted anonymously), at its public place, with one photo."""

    ref: str
    text: str
    credit_name: str | None
    consent: str | None
    place_name: str | None
    themes: tuple[str, ...]
    photo: Path | None  # a metadata-free thumbnail, when the story has one


def brief_quote(
    session: Session, story: Submission, *, data_dir: Path | None = None
) -> BriefQuote | None:
    """The quote of an approved story (None when it is not approved or has no text)."""
    text = shareable_text(story)
    if story.state not in APPROVED_STATES or not text:
        return None
    assert story.id is not None
    images = public_images(session, story.id, data_dir=data_dir)
    thumb = next((image.renditions.get("thumb") for image in images), None)
    return BriefQuote(
        ref=story.ref,
        text=text,
        credit_name=credit_name(session, story),
        consent=story.consent,
        place_name=story.place_name,
        themes=theme_slugs(story),
        photo=thumb.path if thumb is not None else None,
    )
