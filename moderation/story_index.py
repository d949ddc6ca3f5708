"""The story list's filters that need an index of their own: a theme (the `submission_themes`
rows) and words (the `submission_search` full-text index: FTS5 on SQLite, `tsvector` in the
`simple` configuration on PostgreSQL). Both are kept by database triggers (migration 0008).

Words are whole words, every one of them, case-insensitive, in the story's text, its public
text or a recording's transcript: `air asin` finds "Sumur kami jadi asin, air ..." and not
"pasir". Punctuation separates words on both databases (`rumah-rumah` is `rumah rumah`).

A list is ordered by submission time, so a filter is served one of two ways: a common word
(`WALK_FROM` stories or more; `SQLITE_WALK_FROM` on SQLite) by walking the time order and
asking the index about each story until a page is full, which stops after a few hundred; a
rarer one by taking its stories from the index and sorting them. Which one is decided by
counting matches up to that number, from the index alone.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    ColumnElement,
    Integer,
    any_,
    exists,
    false,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlmodel import Session, col

from core.db import SEARCH_TABLE
from core.models import Submission, SubmissionTheme

#: From this many matching stories on, a page walks the time order instead of sorting them.
#: Near it both ways cost most; far from it, a few ms. Asking FTS5 about one story costs ten
#: times what fetching one story by id does, so SQLite walks later than PostgreSQL (at a million
#: stories: sorting 30,000 stories, or asking about 1,700 in time order).
WALK_FROM = 10_000
SQLITE_WALK_FROM = 30_000

_WORD = re.compile(r"\w+")
_SQLITE_MATCHING = "SELECT rowid FROM submission_search WHERE submission_search MATCH :words"
_SQLITE_COUNT = text(
    "SELECT count(*) FROM (SELECT rowid FROM submission_search WHERE submission_search "
    "MATCH :words LIMIT :most)"
)
_SQLITE_PROBE = text(
    "EXISTS (SELECT 1 FROM submission_search WHERE submission_search MATCH :probe_words "
    "AND rowid = submissions.id)"
)
_PG_SEARCH = sa_table(
    SEARCH_TABLE, sa_column("submission_id", Integer), sa_column("document", TSVECTOR)
)


def has_theme(slug: str) -> ColumnElement[bool]:
    """The story has the theme `slug` (one index probe per story)."""
    return exists().where(
        col(SubmissionTheme.submission_id) == col(Submission.id),
        col(SubmissionTheme.slug) == slug,
    )


def words_of(typed: str) -> list[str]:
    """The words a search asks for, as both indexes cut them (letters and digits)."""
    return [word.casefold() for word in _WORD.findall(typed) if word.strip("_")]


def has_words(session: Session, typed: str) -> ColumnElement[bool]:
    """The story holds every word of `typed` (nothing matches when no word was typed)."""
    words = words_of(typed)
    if not words:
        return false()
    if session.get_bind().dialect.name == "postgresql":
        return _postgres(session, words)
    return _sqlite(session, words)


def _sqlite(session: Session, words: list[str]) -> ColumnElement[bool]:
    # Each word quoted: FTS5's own syntax (AND, NEAR, *, column:) never applies to typed text.
    query = " ".join('"' + word.replace('"', '""') + '"' for word in words)
    limit = {"words": query, "most": SQLITE_WALK_FROM}
    if session.execute(_SQLITE_COUNT, limit).scalar_one() >= SQLITE_WALK_FROM:
        return _SQLITE_PROBE.bindparams(probe_words=query)  # type: ignore[return-value]
    matches = text(_SQLITE_MATCHING).bindparams(words=query)
    return col(Submission.id).in_(matches.columns(literal_column("rowid", Integer)))


def _postgres(session: Session, words: list[str]) -> ColumnElement[bool]:
    query = func.plainto_tsquery("simple", " ".join(words))
    found = _PG_SEARCH.c.document.bool_op("@@")(query)
    matches = select(_PG_SEARCH.c.submission_id).where(found)
    counted = select(func.count()).select_from(matches.limit(WALK_FROM).subquery())
    if session.execute(counted).scalar_one() >= WALK_FROM:
        # OFFSET 0 keeps the probe a per-story test: the planner would otherwise join all the
        # matches first, the very work a walk along the time order saves.
        probe = select(literal(1)).where(_PG_SEARCH.c.submission_id == col(Submission.id), found)
        return probe.offset(0).exists()
    # An array of ids the planner takes as few: it fetches them and sorts, rather than walking
    # the time order in the hope of meeting them early.
    return col(Submission.id) == any_(func.array(matches.scalar_subquery()))
