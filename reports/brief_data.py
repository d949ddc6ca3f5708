"""What a policy brief says, counted in SQL: the period's totals, stories by theme and by area,
the trend of the last twelve months, and the quotes (pinned by moderators, else the most
representative story of each main theme). `build_brief(engine, selection)` returns a `Brief`;
rendering it is `reports.brief`'s business.

A brief counts the stories a moderator approved (approved, scheduled, published) submitted in the
period; "received" also counts those still in review and those rejected, never drafts, spam held
aside (quarantined), or stories their contributor withdrew.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import case, distinct, func, literal, select, true
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from core.models import Media, Submission
from core.open_data import BriefQuote, brief_quote
from core.projections import APPROVED_STATES
from core.states import SubmissionState
from reports.areas import area_of
from reports.selection import SHOWABLE, Selection, conditions, local_day_start, theme_slug_rows

#: Stories a brief counts as received: submitted and not held aside as spam.
RECEIVED_STATES = SHOWABLE - {SubmissionState.QUARANTINED.value}
TREND_MONTHS = 12
QUOTES = 4
AREA_ROWS = 8
#: Candidates looked at per theme when choosing a representative quote.
CANDIDATES = 60


@dataclass(frozen=True)
class AreaCount:
    """Approved stories in one kecamatan, with its most frequent kelurahan/desa."""

    kecamatan: str
    regency: str
    count: int
    villages: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class PointCount:
    """Approved stories at one public place (its centroid), for the map."""

    name: str
    lat: float
    lon: float
    count: int


@dataclass(frozen=True)
class MonthCount:
    """Stories received and approved in one month."""

    month: date  # the first day
    received: int
    approved: int


@dataclass(frozen=True)
class Brief:
    """Everything a brief shows, counted from the database."""

    selection: Selection
    received: int
    approved: int
    themes: tuple[tuple[str, int], ...]  # (slug, approved stories), most first
    areas: tuple[AreaCount, ...]  # by kecamatan, most first
    unplaced: int  # approved stories without a gazetteer place below the regency
    points: tuple[PointCount, ...]
    places: int  # distinct public places of approved stories
    trend: tuple[MonthCount, ...]
    quotes: tuple[BriefQuote, ...]
    pinned_quotes: int  # how many of the quotes a moderator pinned


def _with_states(selection: Selection, states: frozenset[str]) -> Selection:
    return replace(selection, states=states)


def _count(session: Session, where: list[Any]) -> int:
    query = select(func.count()).select_from(Submission).where(*where)
    return int(session.execute(query).scalar_one())


def theme_counts(session: Session, selection: Selection) -> list[tuple[str, int]]:
    """(theme slug, stories) of the selection, most first, then by slug."""
    dialect = session.get_bind().dialect.name
    entries, slug = theme_slug_rows(dialect)
    query = (
        select(slug.label("slug"), func.count(distinct(col(Submission.id))))
        .select_from(Submission)
        .join(entries, true())
        .where(*conditions(selection, dialect))
        .group_by(slug)
    )
    counts = [(str(found), int(number)) for found, number in session.execute(query) if found]
    return sorted(counts, key=lambda item: (-item[1], item[0]))


def place_counts(session: Session, selection: Selection) -> dict[str | None, int]:
    """Stories of the selection per gazetteer place id (None: no gazetteer place)."""
    dialect = session.get_bind().dialect.name
    query = (
        select(col(Submission.place_id), func.count())
        .where(*conditions(selection, dialect))
        .group_by(col(Submission.place_id))
    )
    return {place_id: int(number) for place_id, number in session.execute(query)}


def _areas(
    by_place: dict[str | None, int],
) -> tuple[list[AreaCount], int, list[PointCount]]:
    """Roll place counts up to kecamatan (with their villages), and points for the map."""
    kecamatan: Counter[tuple[str, str]] = Counter()
    villages: dict[tuple[str, str], Counter[str]] = {}
    points: list[PointCount] = []
    unplaced = 0
    for place_id, number in by_place.items():
        area = area_of(place_id)
        if area is None or area.kecamatan is None:
            unplaced += number
        else:
            key = (area.kecamatan.name, area.regency.name if area.regency else "")
            kecamatan[key] += number
            if area.village is not None:
                villages.setdefault(key, Counter())[area.village.name] += number
        point = area.point if area is not None else None
        if area is not None and point is not None:
            points.append(PointCount(area.place.name, point[0], point[1], number))
    rows = [
        AreaCount(
            name,
            regency,
            number,
            tuple(sorted(villages.get((name, regency), Counter()).items(), key=_most_first)[:2]),
        )
        for (name, regency), number in kecamatan.items()
    ]
    rows.sort(key=lambda row: (-row.count, row.kecamatan))
    points.sort(key=lambda point: (-point.count, point.name))
    return rows, unplaced, points


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def month_starts(last: date, months: int = TREND_MONTHS) -> list[date]:
    """The first days of the `months` months ending with the month of `last`, oldest first."""
    year, month = last.year, last.month
    starts = []
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def trend(session: Session, selection: Selection) -> list[MonthCount]:
    """Received and approved stories per month, for the twelve months ending with the
    period's last month (the theme and place of the selection apply)."""
    assert selection.end is not None
    starts = month_starts(selection.end)
    last = starts[-1]
    after = date(last.year + 1, 1, 1) if last.month == 12 else date(last.year, last.month + 1, 1)
    bounds = [local_day_start(day, selection.timezone) for day in [*starts, after]]
    dialect = session.get_bind().dialect.name
    span = replace(selection, start=starts[0], end=None, states=RECEIVED_STATES)
    where = [*conditions(span, dialect), col(Submission.submitted_at) < bounds[-1]]
    bucket = case(
        *(
            (col(Submission.submitted_at) < bound, literal(index))
            for index, bound in enumerate(bounds[1:])
        ),
        else_=literal(-1),
    )
    approved = func.sum(case((col(Submission.state).in_(sorted(APPROVED_STATES)), 1), else_=0))
    query = select(bucket, func.count(), approved).where(*where).group_by(bucket)
    found = {int(index): (int(total), int(ok or 0)) for index, total, ok in session.execute(query)}
    return [MonthCount(start, *found.get(index, (0, 0))) for index, start in enumerate(starts)]


def _quote_candidates(session: Session, selection: Selection, slug: str) -> list[Submission]:
    """Approved stories of the selection with the theme, newest first."""
    dialect = session.get_bind().dialect.name
    themed = replace(selection, states=APPROVED_STATES, theme=slug)
    statement = (
        select(Submission)
        .where(*conditions(themed, dialect))
        .order_by(col(Submission.submitted_at).desc(), col(Submission.id).desc())
        .limit(CANDIDATES)
    )
    return list(session.execute(statement).scalars())


def _with_photo(session: Session, stories: list[Submission]) -> set[int]:
    ids = [story.id for story in stories if story.id is not None]
    rows = session.execute(
        select(col(Media.submission_id), col(Media.renditions)).where(
            col(Media.submission_id).in_(ids), col(Media.deleted_at).is_(None)
        )
    )
    return {submission_id for submission_id, renditions in rows if renditions}


def _strength(story: Submission, slug: str) -> float:
    for theme in story.themes:
        if isinstance(theme, dict) and theme.get("slug") == slug:
            return float(theme.get("score") or 0.0)
    return 0.0


def quotes(
    session: Session,
    selection: Selection,
    themes: list[tuple[str, int]],
    *,
    data_dir: Path | None,
) -> tuple[list[BriefQuote], int]:
    """Up to `QUOTES` quotes: the stories moderators pinned (newest pin first), then for each
    main theme the story most strongly tagged with it (one with a photo first, the newest on a
    tie). Returns the quotes and how many were pinned."""
    dialect = session.get_bind().dialect.name
    approved = replace(selection, states=APPROVED_STATES)
    pinned = list(
        session.execute(
            select(Submission)
            .where(*conditions(approved, dialect), col(Submission.pinned_at).is_not(None))
            .order_by(col(Submission.pinned_at).desc(), col(Submission.id))
        ).scalars()
    )
    chosen: list[BriefQuote] = []
    seen: set[int] = set()
    for story in pinned:
        quote = brief_quote(session, story, data_dir=data_dir)
        if quote is not None and len(chosen) < QUOTES:
            chosen.append(quote)
            assert story.id is not None
            seen.add(story.id)
    from_pins = len(chosen)
    for slug, _ in themes:
        if len(chosen) >= QUOTES:
            break
        candidates = [s for s in _quote_candidates(session, selection, slug) if s.id not in seen]
        photos = _with_photo(session, candidates)
        candidates.sort(key=lambda s: (-_strength(s, slug), s.id not in photos))
        for story in candidates:
            quote = brief_quote(session, story, data_dir=data_dir)
            if quote is not None:
                chosen.append(quote)
                assert story.id is not None
                seen.add(story.id)
                break
    return chosen, from_pins


def build_brief(engine: Engine, selection: Selection, *, data_dir: Path | None = None) -> Brief:
    """Count everything a brief shows for `selection` (which needs a start and an end)."""
    approved = _with_states(selection, APPROVED_STATES)
    with Session(engine) as session:
        dialect = engine.dialect.name
        received = _count(session, conditions(_with_states(selection, RECEIVED_STATES), dialect))
        themes = theme_counts(session, approved)
        by_place = place_counts(session, approved)
        areas, unplaced, points = _areas(by_place)
        chosen, pinned = quotes(session, selection, themes, data_dir=data_dir)
        return Brief(
            selection=selection,
            received=received,
            approved=sum(by_place.values()),
            themes=tuple(themes),
            areas=tuple(areas),
            unplaced=unplaced,
            points=tuple(points),
            places=len([place for place in by_place if place is not None]),
            trend=tuple(trend(session, selection)),
            quotes=tuple(chosen),
            pinned_quotes=pinned,
        )
