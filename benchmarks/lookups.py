"""Lookups at a million stories: the duplicate check of one new story, the bot's card round and
its notification claim (every few seconds), each against the way it was done before, on the
same data in the same run.

Builds its data with `benchmarks/corpus.py` (stories, 1–3 photos each with perceptual hashes,
a notification per story, every reviewed story carded) on SQLite (a temporary file) and on
PostgreSQL (PESISIR_BENCH_DATABASE_URL, default the local `bench_lookups` database, which it
EMPTIES).

    PYTHONPATH=. python benchmarks/lookups.py [--stories 1000000] [--sqlite-only | --postgres-only]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from benchmarks.corpus import build, reset
from bot.moderation_cards import NEEDS_CARD_QUERY, STALE_CARD_QUERY
from bot.notifier import NOTIFICATIONS, due_query
from core.db import make_engine
from core.models import Media, Submission
from pipeline.duplicates import (
    _IGNORED_STATES,
    MIN_TEXT_CHARS,
    PHASH_MAX_DISTANCE,
    find_duplicate_match,
    normalise_text,
    phash_distance,
    text_digest,
)

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_lookups"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def old_duplicate(session: Session, submission_id: int) -> int | None:
    """The check as it was: every earlier photo's hash and every earlier text, in Python."""
    story = session.get(Submission, submission_id)
    assert story is not None
    media = session.exec(select(Media).where(Media.submission_id == submission_id)).scalars()
    hashes = [m.phash for m in media if m.phash]
    earlier = (
        select(Media.phash, Submission.id)
        .join(Submission, col(Submission.id) == col(Media.submission_id))
        .where(
            col(Submission.id) < submission_id,
            col(Submission.state).not_in(_IGNORED_STATES),
            col(Media.phash).is_not(None),
        )
        .order_by(col(Submission.id))
    )
    for other, other_id in session.execute(earlier):
        if min(phash_distance(mine, other) for mine in hashes) <= PHASH_MAX_DISTANCE:
            return int(other_id)
    wanted = normalise_text(story.text)
    if len(wanted) >= MIN_TEXT_CHARS:
        stories = select(Submission.id, Submission.text).where(
            col(Submission.id) < submission_id, col(Submission.text).is_not(None)
        )
        for other_id, other_text in session.execute(stories.order_by(col(Submission.id))):
            if normalise_text(other_text) == wanted:
                return int(other_id)
    return None


def old_polls() -> list[tuple[str, Any]]:
    """The card round's and the claim's queries as they were (no partial index fits them)."""
    n = NOTIFICATIONS.c
    return [
        (
            "needs card",
            select(Submission.id)
            .where(
                col(Submission.state).in_(["pending_review", "quarantined"]),
                col(Submission.card_message_id).is_(None),
            )
            .order_by(col(Submission.id))
            .limit(20),
        ),
        (
            "stale card",
            select(Submission.id)
            .where(
                col(Submission.card_message_id).is_not(None),
                col(Submission.card_version).is_distinct_from(col(Submission.version)),
            )
            .order_by(col(Submission.id))
            .limit(20),
        ),
        (
            "notification claim",
            select(n.id)
            .where(n.state == "pending", or_(n.next_attempt_at.is_(None), n.next_attempt_at <= NOW))
            .order_by(n.id)
            .limit(50),
        ),
    ]


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and p95 in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def new_story(engine: Engine, phash: str, words: str) -> int:
    """A new story with one photo near an old one's hash (2 bits off), and new words."""
    with Session(engine) as session:
        story = Submission(ref="SP-BENCH1", contributor_id=1, state="received", text=words)
        story.text_digest = text_digest(words)
        session.add(story)
        session.flush()
        media = Media(submission_id=story.id or 0, kind="photo")
        media.phash = f"{int(phash, 16) ^ 0b101:016x}"
        session.add(media)
        session.commit()
        assert story.id is not None
        return story.id


def run(url: str, stories: int, baseline_repeat: int) -> None:
    """Build, then time each lookup the new way and the old way."""
    reset(url)
    engine = make_engine(url)
    started = time.perf_counter()
    build(engine, stories=stories)
    print(f"  built {stories:,} stories in {time.perf_counter() - started:.0f} s")
    with engine.connect() as connection:
        middle = connection.execute(
            text("SELECT phash FROM media WHERE phash IS NOT NULL ORDER BY id LIMIT 1 OFFSET :n"),
            {"n": stories // 2},
        ).scalar_one()
    story_id = new_story(engine, middle, "Cerita baru yang belum pernah dikirim siapa pun di sini.")
    with Session(engine) as session:
        found = find_duplicate_match(session, story_id)
        assert found is not None and found.kind == "phash"
        new = timed(lambda: find_duplicate_match(session, story_id), 20)
        old = timed(lambda: old_duplicate(session, story_id), baseline_repeat)
    print(
        f"  duplicate check of one new story: {new[0]:.1f} ms median, {new[1]:.1f} ms p95; "
        f"before: {old[0]:,.0f} ms ({old[0] / new[0]:,.0f}× slower)"
    )
    polls = dict(old_polls())
    for name, query in (
        ("needs card", NEEDS_CARD_QUERY),
        ("stale card", STALE_CARD_QUERY),
        ("notification claim", due_query(NOW)),
    ):
        with engine.connect() as connection:
            new = timed(lambda q=query: connection.execute(q).all(), 50)
            old = timed(lambda q=polls[name]: connection.execute(q).all(), 10)
        print(
            f"  {name:<19} {new[0]:.2f} ms median, {new[1]:.2f} ms p95; "
            f"before: {old[0]:.0f} ms ({old[0] / max(new[0], 0.001):,.0f}× slower)"
        )
    engine.dispose()


def main() -> None:
    """Both backends."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stories", type=int, default=1_000_000)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--baseline-repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.postgres_only:
        with tempfile.TemporaryDirectory() as folder:
            print("SQLite")
            run(f"sqlite:///{Path(folder) / 'bench.db'}", args.stories, args.baseline_repeat)
    if not args.sqlite_only:
        print("PostgreSQL")
        url = os.environ.get("PESISIR_BENCH_DATABASE_URL", DEFAULT_PG)
        run(url, args.stories, args.baseline_repeat)


if __name__ == "__main__":
    main()
