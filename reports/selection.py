"""Which stories a brief or an export is about: a period of local dates, states, a theme, a place.

`select_stories(...)` checks what a person typed (a kind `InvalidInput` for a date not
understood, an unknown theme or place, a state that is never exported) and returns a
`Selection`; `conditions(selection, dialect)` turns it into SQL for `core.open_data` and the
brief's aggregates. Dates are local dates in the campaign's time zone, both ends included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, func, literal, select
from sqlmodel import col

from core import taxonomy
from core.errors import InvalidInput
from core.models import Submission
from core.projections import APPROVED_STATES
from core.states import SubmissionState
from pipeline import gazetteer, search_places

S = SubmissionState
#: Never in a brief or an export: unfinished drafts, and stories their contributor withdrew.
NEVER_SHOWN = frozenset({S.DRAFT.value, S.WITHDRAWN.value, S.ERASED.value})
#: Every state that may be selected (`--state all`).
SHOWABLE = frozenset(state.value for state in S) - NEVER_SHOWN


@dataclass(frozen=True)
class Selection:
    """Stories submitted between two local dates (inclusive), in some states, with a theme,
    at a place or anywhere inside it."""

    start: date | None = None
    end: date | None = None
    states: frozenset[str] = APPROVED_STATES
    theme: str | None = None
    place_id: str | None = None  # a gazetteer id; the stories there and anywhere inside it
    timezone: str = "Asia/Makassar"

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The period as UTC instants: from the start day's midnight to the midnight after
        the end day (local time)."""
        return local_day_start(self.start, self.timezone), local_day_start(
            self.end + timedelta(days=1) if self.end else None, self.timezone
        )

    def place_ids(self) -> frozenset[str] | None:
        """The place and every place inside it, or None for anywhere."""
        if self.place_id is None:
            return None
        place = gazetteer.by_id()[self.place_id]
        return frozenset({place.id, *(inner.id for inner in gazetteer.descendants(place))})


def local_day_start(day: date | None, timezone: str) -> datetime | None:
    """Midnight of a local day, as an aware datetime (None stays None)."""
    if day is None:
        return None
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone))


def parse_day(text: str | None, option: str) -> date | None:
    """`2026-11-01` as a date; a kind error naming the option otherwise."""
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{option} {text!r} is not a date; write it like 2026-11-01 (year-month-day)"
        ) from None


def find_place(text: str) -> gazetteer.Place:
    """A gazetteer place by id (`kota-kupang`) or by name (`Oesapa`); a kind error otherwise."""
    wanted = text.strip()
    place = gazetteer.by_id().get(wanted.lower())
    if place is not None:
        return place
    found = search_places(wanted, limit=1) if wanted else []
    if not found or found[0].id is None:
        raise InvalidInput(
            f"no place called {text!r} in the gazetteer; give a kelurahan, desa, kecamatan or "
            "kabupaten by name or id (e.g. oesapa, kota-kupang)"
        )
    return gazetteer.by_id()[found[0].id]


def select_stories(
    *,
    start: date | None = None,
    end: date | None = None,
    states: Sequence[str] | None = None,
    theme: str | None = None,
    place: str | None = None,
    timezone: str = "Asia/Makassar",
) -> Selection:
    """A checked selection; without `states`, the stories a moderator approved."""
    if start is not None and end is not None and end < start:
        raise InvalidInput(f"the period ends ({end}) before it starts ({start})")
    chosen = APPROVED_STATES if not states else frozenset(_states(states))
    if theme is not None and not taxonomy.is_theme(theme):
        raise InvalidInput(
            f"unknown theme {theme!r}; the themes are: {', '.join(taxonomy.slugs())}"
        )
    place_id = find_place(place).id if place else None
    return Selection(start, end, chosen, theme, place_id, timezone)


def _states(states: Sequence[str]) -> set[str]:
    chosen: set[str] = set()
    for state in states:
        if state == "all":
            chosen |= SHOWABLE
        elif state in NEVER_SHOWN:
            raise InvalidInput(
                f"{state} stories are never in a brief or an export (drafts are unfinished; "
                "withdrawn and erased stories were taken back by their contributor)"
            )
        elif state not in SHOWABLE:
            raise InvalidInput(
                f"unknown state {state!r}; use one of {', '.join(sorted(SHOWABLE))} or all"
            )
        else:
            chosen.add(state)
    return chosen


def theme_slug_rows(dialect: str) -> tuple[Any, ColumnElement[Any]]:
    """A table of a story's theme entries (to join to `submissions`) and the slug column."""
    themes = col(Submission.themes)
    if dialect == "postgresql":
        entries = func.json_array_elements(themes).table_valued("value", joins_implicitly=True)
        return entries, entries.c.value.op("->>")("slug")
    entries = func.json_each(themes).table_valued("value", joins_implicitly=True)
    return entries, func.json_extract(entries.c.value, "$.slug")


def has_theme(dialect: str, slug: str) -> ColumnElement[bool]:
    """True for a story tagged with the theme `slug` (themes are a JSON list on the row)."""
    entries, slug_column = theme_slug_rows(dialect)
    return exists(select(literal(1)).select_from(entries).where(slug_column == slug))


def conditions(selection: Selection, dialect: str) -> list[ColumnElement[bool]]:
    """The selection as SQL conditions on `submissions`."""
    where: list[ColumnElement[bool]] = [col(Submission.state).in_(sorted(selection.states))]
    start, end = selection.bounds()
    if start is not None:
        where.append(col(Submission.submitted_at) >= start)
    if end is not None:
        where.append(col(Submission.submitted_at) < end)
    if selection.theme is not None:
        where.append(has_theme(dialect, selection.theme))
    place_ids = selection.place_ids()
    if place_ids is not None:
        where.append(col(Submission.place_id).in_(sorted(place_ids)))
    return where
