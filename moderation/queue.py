"""The story list: stories filtered (state, theme, place, dates, words) a page at a time, and
their counts by public place for the map. The one owner of this SQL: the CLI's `queue list`,
the web's queue and tray and the map all ask here.

Pages are keyset-paginated on (submission time, id), which indexes in that order serve (all
states, one state, and a partial one for the stories waiting): a page never loads the stories
before it, so the ten-thousandth page costs what the first does, and a page that is not the
last says so (`Page.next_cursor`). Themes and words are looked up by their own indexes
(`moderation.story_index`). A story is listed from its submission on; drafts (not yet sent,
so without a submission time) are the contributor's and never listed. One story in full is
its moderators' view, `core.projections.moderator_story`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, or_, text
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from core.clock import as_utc
from core.errors import InvalidInput
from core.keyset import after_cursor, encode_cursor
from core.models import REVIEW_QUEUE, Media, Submission
from core.projections import theme_slugs
from core.states import AUDIO_KINDS, IMAGE_KINDS, SOCIAL_CONSENTS, SubmissionState
from core.stories import REF_PREFIX, normalize_ref
from moderation import story_index

S = SubmissionState
#: States a moderator is expected to act on.
REVIEW_STATES = (S.PENDING_REVIEW, S.NEEDS_INFO, S.QUARANTINED)
#: The most a page holds.
MAX_LIMIT = 500


def _sort_key() -> Mapped[datetime | None]:
    """When a story entered the queue: its submission."""
    return col(Submission.submitted_at)


@dataclass(frozen=True)
class StoryFilter:
    """What a list shows: a state (None: waiting for a moderator; `all`: every one but drafts),
    a theme slug, a place (gazetteer id or part of its name), words, local days (inclusive)."""

    status: str | None = None
    theme: str | None = None
    place: str | None = None
    search: str | None = None
    since: date | None = None
    until: date | None = None
    timezone: str = "Asia/Makassar"
    social_only: bool = False  # only consents that allow social media (the calendar's tray)


@dataclass(frozen=True)
class QueueItem:
    """One story as a list shows it: no coordinates, no Telegram ids, no original paths."""

    id: int
    ref: str
    state: str
    version: int
    created_at: datetime
    submitted_at: datetime | None
    text: str | None
    public_text: str | None
    consent: str | None
    force_anonymous: bool
    place_id: str | None
    place_name: str | None
    themes: tuple[str, ...]
    flags: tuple[dict[str, Any], ...]  # as stored: kind, span, detail (never the data itself)
    photos: int = 0
    recordings: int = 0
    thumbs: tuple[str, ...] = field(default_factory=tuple)  # thumb renditions (data-dir relative)

    @property
    def flag_kinds(self) -> tuple[str, ...]:
        """The kinds of the story's flags, once each (phone, duplicate, photo_late, ...)."""
        return tuple(dict.fromkeys(str(flag.get("kind")) for flag in self.flags))

    @property
    def media_count(self) -> int:
        """Photos and recordings together."""
        return self.photos + self.recordings


@dataclass(frozen=True)
class Page:
    """One page of a list and the cursor of the next (None on the last page)."""

    items: list[QueueItem]
    next_cursor: str | None


def _states(status: str | None) -> ColumnElement[bool]:
    """Which states a list shows, written so an index in the list's order serves it."""
    if status is None:
        # Word for word the partial index's condition: SQLite uses the index only then.
        return text(REVIEW_QUEUE)  # type: ignore[return-value]
    if status == "all":
        # Drafts have no submission time: the (submitted_at, id) index skips them already.
        return col(Submission.state) != S.DRAFT.value
    if status == S.DRAFT.value:
        raise InvalidInput("drafts are not listed: they are the contributor's until sent")
    if status not in {state.value for state in S}:
        raise InvalidInput(f"unknown state {status!r}")
    return col(Submission.state) == status


def _contains(words: str) -> str:
    """A LIKE pattern matching `words` anywhere, literally (`%` and `_` are not wildcards)."""
    escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _local_day(day: date, timezone: str) -> datetime:
    return as_utc(datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone)))


def conditions(session: Session, wanted: StoryFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a filter (bad input raises InvalidInput)."""
    where: list[ColumnElement[bool]] = [
        _states(wanted.status),
        col(Submission.submitted_at).is_not(None),
    ]
    if wanted.theme:
        where.append(story_index.has_theme(wanted.theme))
    if wanted.place:
        where.append(
            or_(
                col(Submission.place_id) == wanted.place,
                func.lower(col(Submission.place_name)).like(_contains(wanted.place), escape="\\"),
            )
        )
    if wanted.search:
        found = story_index.has_words(session, wanted.search)
        if wanted.search.strip().upper().startswith(REF_PREFIX):
            found = or_(col(Submission.ref) == normalize_ref(wanted.search), found)
        where.append(found)
    if wanted.since is not None:
        where.append(_sort_key() >= _local_day(wanted.since, wanted.timezone))
    if wanted.until is not None:
        where.append(_local_day(wanted.until + timedelta(days=1), wanted.timezone) > _sort_key())
    if wanted.social_only:
        where.append(col(Submission.consent).in_(SOCIAL_CONSENTS))
    return where


def list_page(
    session: Session,
    wanted: StoryFilter | None = None,
    *,
    limit: int = 50,
    after: str | None = None,
    newest_first: bool = False,
) -> Page:
    """One page of stories (oldest first, or newest first), after the cursor `after`."""
    wanted = wanted or StoryFilter()
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"a page holds 1 to {MAX_LIMIT} stories, not {limit}")
    where = conditions(session, wanted)
    if after:
        where.append(after_cursor(_sort_key(), col(Submission.id), after, descending=newest_first))
    order = (
        (_sort_key().desc(), col(Submission.id).desc())
        if newest_first
        else (_sort_key(), col(Submission.id))
    )
    rows = list(session.exec(select(Submission).where(*where).order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = _items(session, rows)
    cursor = None
    if more and rows:
        last = rows[-1]
        assert last.id is not None
        assert last.submitted_at is not None
        cursor = encode_cursor(last.submitted_at, last.id)
    return Page(items, cursor)


def list_stories(
    session: Session,
    *,
    status: str | None = None,
    theme: str | None = None,
    place: str | None = None,
    search: str | None = None,
    limit: int = 50,
    after: str | None = None,
) -> Page:
    """One page of a filter's stories, oldest first (`Page.next_cursor` says whether more
    follow: a list is never cut short without saying so)."""
    wanted = StoryFilter(status=status, theme=theme, place=place, search=search)
    return list_page(session, wanted, limit=limit, after=after)


def _items(session: Session, rows: Sequence[Submission]) -> list[QueueItem]:
    """List items of these stories, with their media counted in one query."""
    ids = [row.id for row in rows if row.id is not None]
    photos: dict[int, int] = {}
    recordings: dict[int, int] = {}
    thumbs: dict[int, list[str]] = {}
    if ids:
        media = session.exec(
            select(Media.submission_id, Media.kind, Media.renditions, Media.error)
            .where(col(Media.submission_id).in_(ids), col(Media.deleted_at).is_(None))
            .order_by(col(Media.submission_id), col(Media.position), col(Media.id))
        )
        for story_id, kind, renditions, error in media:
            if kind in AUDIO_KINDS:
                recordings[story_id] = recordings.get(story_id, 0) + 1
            elif kind in IMAGE_KINDS:
                photos[story_id] = photos.get(story_id, 0) + 1
                thumb = (renditions or {}).get("thumb")
                if error is None and isinstance(thumb, dict) and thumb.get("path"):
                    thumbs.setdefault(story_id, []).append(str(thumb["path"]))
    items = []
    for row in rows:
        assert row.id is not None
        items.append(
            QueueItem(
                id=row.id,
                ref=row.ref,
                state=row.state,
                version=row.version,
                created_at=row.created_at,
                submitted_at=row.submitted_at,
                text=row.text,
                public_text=row.public_text,
                consent=row.consent,
                force_anonymous=row.force_anonymous,
                place_id=row.place_id,
                place_name=row.place_name,
                themes=theme_slugs(row),
                flags=tuple(dict(flag) for flag in row.flags if flag.get("kind")),
                photos=photos.get(row.id, 0),
                recordings=recordings.get(row.id, 0),
                thumbs=tuple(thumbs.get(row.id, ())),
            )
        )
    return items


def summary_row(item: QueueItem) -> dict[str, Any]:
    """A story as a plain dict for `--json` output (no coordinates, no Telegram ids)."""
    return {
        "ref": item.ref,
        "state": item.state,
        "version": item.version,
        "created_at": item.created_at.isoformat(),
        "submitted_at": item.submitted_at.isoformat() if item.submitted_at else None,
        "text": item.text,
        "public_text": item.public_text,
        "media_count": item.media_count,
        "place": item.place_name,
        "themes": list(item.themes),
        "consent": item.consent,
        "force_anonymous": item.force_anonymous,
    }


# ---------------------------------------------------------------------------- the map


@dataclass(frozen=True)
class PlaceCount:
    """How many stories of one state and main theme a public place has."""

    place_id: str
    state: str
    theme: str | None  # the story's first theme
    count: int


def place_counts_statement(
    wanted: StoryFilter, session: Session
) -> Select[str | None, str, str | None, int]:
    """The map's counting query, answered from `ix_submissions_map` alone."""
    place, state = col(Submission.place_id), col(Submission.state)
    main_theme = col(Submission.main_theme)  # kept from `themes` by the database
    return (
        sa_select(place, state, main_theme, func.count())
        .where(*conditions(session, wanted))
        .group_by(place, state, main_theme)
    )


def place_counts(session: Session, wanted: StoryFilter | None = None) -> list[PlaceCount]:
    """Stories counted by public place, state and main theme (never a point finer than the
    place: the map puts each place at its gazetteer centroid)."""
    statement = place_counts_statement(wanted or StoryFilter(status="all"), session)
    # Stories without a place are skipped here rather than in SQL: `place_id IS NOT NULL` would
    # lead SQLite to walk the place index and read every row at random.
    return [
        PlaceCount(str(place_id), str(state), theme, int(count))
        for place_id, state, theme, count in session.execute(statement)
        if place_id is not None
    ]
