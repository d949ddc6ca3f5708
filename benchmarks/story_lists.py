"""The story list and the calendar of posts at a million stories and 100,000 posts: each page
`pesisir queue list` and `pesisir posts list` ask for (and the dashboard's queue), p50 and p95,
against the ways it was done before, on the same data in the same run.

Two baselines for the story list: the list as the issue measured it (every matching story
loaded, themes filtered in Python, the first 200 kept: `baseline_load_all`), and the keyset page
this change starts from (themes read from each row's JSON, words by `LIKE`: `baseline_page`).
For posts: the calendar as `posts list` read it (every post: `baseline_posts_list`). The slow
baselines run once (`--baseline-rounds`): at a million stories one call takes a minute.

Builds its data with `benchmarks/corpus.py` (stories of a year in every state, 1-3 photos, a
voice note with its transcript in one story of 30, posts over three campaigns and five
channels) on SQLite (`--sqlite-file`, default a temporary file) and PostgreSQL
(`--database-url`, default the local `bench_queue` database, which it EMPTIES). `--reuse` keeps
a database that already holds the stories (to time again without building again).

    python -m benchmarks.story_lists [--stories 1000000] [--posts 100000] [--sqlite-only] [--reuse]

(As a module: run as a file, this `queue.py` would shadow the standard library's `queue`.)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, cast, func, literal, or_
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from benchmarks.corpus import build, reset
from benchmarks.web import baseline_load_all
from core.db import make_engine
from core.keyset import encode_cursor
from core.models import Submission
from moderation import queue
from moderation.queue import StoryFilter
from publishers.calendar import calendar, calendar_page

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_queue"
TZ = "Asia/Makassar"


# ------------------------------------------------------------------ the old ways, as they were


def _old_theme(session: Session, slug: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        return cast(col(Submission.themes), JSONB).contains([{"slug": slug}])
    each = func.json_each(col(Submission.themes)).table_valued("value").alias("theme")
    return (
        sa_select(literal(1))
        .select_from(each)
        .where(func.json_extract(each.c.value, "$.slug") == slug)
        .exists()
    )


def baseline_page(session: Session, wanted: StoryFilter, limit: int = 50) -> int:
    """The keyset page this change starts from: states by `IN`, themes from each row's JSON,
    words by `LIKE '%...%'` over the text and public text (not transcripts)."""
    if wanted.status is None:
        states = [s.value for s in queue.REVIEW_STATES]
    else:
        states = [s.value for s in queue.S if s != queue.S.DRAFT]
    where = [col(Submission.state).in_(states), col(Submission.submitted_at).is_not(None)]
    if wanted.theme:
        where.append(_old_theme(session, wanted.theme))
    if wanted.search:
        pattern = f"%{wanted.search.lower()}%"
        where.append(
            or_(
                func.lower(col(Submission.text)).like(pattern),
                func.lower(col(Submission.public_text)).like(pattern),
            )
        )
    rows = session.exec(
        select(Submission)
        .where(*where)
        .order_by(col(Submission.submitted_at), col(Submission.id))
        .limit(limit + 1)
    ).all()
    return len(queue._items(session, rows[:limit]))


def baseline_posts_list(session: Session) -> int:
    """`pesisir posts list` as it was: every post, by time."""
    return len(calendar(session, timezone=TZ))


# ----------------------------------------------------------------------------- measuring


def percentiles(times: list[float]) -> tuple[float, float]:
    """Median and p95 in milliseconds."""
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, round(0.95 * len(ordered)) - 1)]


def timed(run: Callable[[], object], rounds: int, slow_rounds: int | None = None) -> list[float]:
    """Milliseconds of each of `rounds` calls, after one call to warm the caches (only
    `slow_rounds` when that call took over a second: a full scan of a million rows)."""
    started = time.perf_counter()
    run()
    if slow_rounds is not None and time.perf_counter() - started > 1:
        rounds = slow_rounds
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def walked(
    pages: Callable[[str | None], str | None], rounds: int, start: str | None
) -> list[float]:
    """Milliseconds of each of `rounds` consecutive pages from the cursor `start` (after one
    untimed pass over the same pages, as `timed` warms the caches with one call)."""
    cursor = start
    for _ in range(rounds):
        cursor = pages(cursor)
    cursor = start
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        cursor = pages(cursor)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _story_pages(session: Session, wanted: StoryFilter) -> Callable[[str | None], str | None]:
    return lambda after: queue.list_page(session, wanted, limit=50, after=after).next_cursor


def _post_pages(session: Session, **filters: Any) -> Callable[[str | None], str | None]:
    return lambda after: (
        calendar_page(session, timezone=TZ, limit=50, after=after, **filters).next_cursor
    )


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(
    engine: Engine, rounds: int, baseline_rounds: int, *, baselines: bool = True
) -> list[tuple[str, ...]]:
    """Every query the new way, then the old ways; one row per query."""
    rows: list[tuple[str, ...]] = []
    with Session(engine) as session:
        lists = {
            "queue list --status all (pages 1-N)": StoryFilter(status="all"),
            "queue list (waiting for review)": StoryFilter(),
            "queue list --status approved": StoryFilter(status="approved"),
            "queue list --status all --theme abrasi": StoryFilter(status="all", theme="abrasi"),
            "queue list --theme abrasi (waiting)": StoryFilter(theme="abrasi"),
            "queue list --status all --search asin (16 %)": StoryFilter(
                status="all", search="asin"
            ),
            "queue list --search asin (waiting)": StoryFilter(search="asin"),
            "queue list --status all --search 'tambak garam' (transcripts, 1 %)": StoryFilter(
                status="all", search="tambak garam"
            ),
            "queue list --status all --search Lasiana (one place)": StoryFilter(
                status="all", search="Lasiana"
            ),
        }
        new: dict[str, list[float]] = {}
        for label, wanted in lists.items():
            new[label] = walked(_story_pages(session, wanted), rounds, None)
        new["queue list --status all, deep (from story 10,000 on)"] = walked(
            _story_pages(session, StoryFilter(status="all")), rounds, _skip_to(session, 10_000)
        )
        posts = {
            "posts list (pages 1-N)": {},
            "posts list --status failed": {"status": "failed"},
            "posts list --campaign langkah-hari-ini": {"campaign_slug": "langkah-hari-ini"},
        }
        for label, filters in posts.items():
            new[label] = walked(_post_pages(session, **filters), rounds, None)
        new_peak = _peak_mib()
        for label, times in new.items():  # printed now: the baselines take minutes
            median, p95 = percentiles(times)
            print(f"  {label}: p50 {median:.1f} ms, p95 {p95:.1f} ms", flush=True)

        old: dict[str, list[float]] = {}
        slow: dict[str, list[float]] = {}
        if not baselines:
            lists = {}
        for label, wanted in lists.items():
            if "deep" not in label:
                old[label] = timed(
                    lambda w=wanted: baseline_page(session, w), rounds, baseline_rounds
                )
        loaded = {
            "queue list --status all (pages 1-N)": ("all", None),
            "queue list (waiting for review)": (None, None),
            "queue list --status all --theme abrasi": ("all", "abrasi"),
        }
        for label, (status, theme) in loaded.items() if baselines else ():
            slow[label] = timed(
                lambda s=status, t=theme: baseline_load_all(session, status=s, theme=t, limit=200),
                baseline_rounds,
            )
        if baselines:
            slow["posts list (pages 1-N)"] = timed(
                lambda: baseline_posts_list(session), baseline_rounds
            )
        old_peak = _peak_mib()
    for label, times in new.items():
        median, p95 = percentiles(times)
        page_text = ratio_page = load_text = ratio_load = ""
        if label in old:
            base = percentiles(old[label])[0]
            page_text, ratio_page = f"{base:,.1f} ms", f"{base / median:,.1f}x"
        if label in slow:
            base = percentiles(slow[label])[0]
            load_text, ratio_load = f"{base:,.0f} ms", f"{base / median:,.0f}x"
        rows.append(
            (label, f"{median:.1f}", f"{p95:.1f}", page_text, ratio_page, load_text, ratio_load)
        )
    rows.append(("peak memory of the process (MiB)", f"{new_peak:.0f}", "", "", "", "", ""))
    rows.append(("... after the load-everything baselines", f"{old_peak:.0f}", "", "", "", "", ""))
    return rows


def _skip_to(session: Session, position: int) -> str | None:
    """The cursor after the `position`-th story of the whole list (by time)."""
    found = session.exec(
        select(Submission.submitted_at, Submission.id)
        .where(col(Submission.submitted_at).is_not(None))
        .order_by(col(Submission.submitted_at), col(Submission.id))
        .offset(position)
        .limit(1)
    ).first()
    if found is None or found[0] is None or found[1] is None:
        return None
    return encode_cursor(found[0], found[1])


def run(name: str, url: str, args: argparse.Namespace) -> None:
    """Build (unless reused), measure, print one table."""
    engine = make_engine(url)
    with Session(engine) as session:
        have = 0
        try:
            have = session.exec(select(func.count()).select_from(Submission)).one()
        except Exception:  # noqa: BLE001 - no tables yet
            have = 0
    if not (args.reuse and have >= args.stories):
        engine.dispose()
        if url.startswith("sqlite:///"):  # reset() empties PostgreSQL only
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        reset(url)
        engine = make_engine(url)
        started = time.perf_counter()
        built = build(engine, stories=args.stories, posts=args.posts)
        print(
            f"{name}: built {built.stories:,} stories, {built.media:,} media, "
            f"{built.posts:,} posts in {time.perf_counter() - started:.0f} s"
        )
    load = os.getloadavg()
    print(f"\n{name}, {have or args.stories:,} stories; load average {load[0]:.1f} {load[1]:.1f}")
    print(
        "| query (50 a page) | p50 ms | p95 ms | before: keyset page, JSON and LIKE (p50) | "
        "÷ | before: load everything (one call) | ÷ |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in measure(engine, args.rounds, args.baseline_rounds, baselines=not args.no_baselines):
        print("| " + " | ".join(row) + " |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    engine.dispose()


def main() -> None:
    """SQLite, then PostgreSQL."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--stories", type=int, default=1_000_000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--baseline-rounds", type=int, default=1)
    parser.add_argument("--sqlite-file", type=Path)
    parser.add_argument("--database-url", default=os.environ.get("PESISIR_BENCH_DATABASE_URL"))
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--no-baselines", action="store_true", help="the new way only, quickly")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()
    if not args.postgres_only:
        with tempfile.TemporaryDirectory() as folder:
            path = args.sqlite_file or Path(folder) / "bench.db"
            run("SQLite", f"sqlite:///{path}", args)
    if not args.sqlite_only:
        run("PostgreSQL", args.database_url or DEFAULT_PG, args)


if __name__ == "__main__":
    main()
