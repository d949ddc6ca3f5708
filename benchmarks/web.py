"""How fast the dashboard's heavy pages answer with a year of work in the database.

Builds 100,000 stories and 20,000 posts (`benchmarks/corpus.py`) on SQLite and on PostgreSQL,
serves the dashboard on loopback, logs in, and asks each page many times; the server's own time
comes from the `Server-Timing` header every response carries. Baselines are measured in the same
run, on the same data: the story list as the CLI made it before keyset pages (every matching
row loaded, themes filtered in Python), the calendar as `pesisir posts list` reads it (every
post), and the map's counts made in Python from every story's place, state and themes.

    python -m benchmarks.web [--stories 100000] [--posts 20000] [--rounds 40]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/bench_web]

(As a module: run as a file, this `web.py` would shadow the `web` package.) The PostgreSQL
database named there is EMPTIED (its public schema is dropped).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr
from sqlmodel import Session, col, select

from benchmarks.corpus import build, reset
from core.config import Settings
from core.db import make_engine
from core.models import Media, Submission
from core.projections import theme_slugs
from moderation import access, queue
from publishers.calendar import calendar
from web import create_app
from web.server import serving

PAGES = {
    "queue (waiting for review)": "/queue",
    "queue (all states, page 1)": "/queue?state=all",
    "queue (theme filter)": "/queue?state=all&theme=abrasi",
    "calendar month (all campaigns)": "/calendar?view=month&start=2026-12-01",
    "calendar week (one campaign)": "/calendar?start=2026-11-30&campaign=adil-untuk-bumi",
    "map page": "/map",
    "map data (last 90 days, the default)": "/map/data.json?since=2026-09-02",
    "map data (one theme, 90 days)": "/map/data.json?theme=abrasi&since=2026-09-02",
    "map data (the whole year)": "/map/data.json",
}


def baseline_load_all(
    session: Session, *, status: str | None, theme: str | None, limit: int
) -> int:
    """The CLI's story list before keyset pages: load every matching row, filter themes in
    Python, count media of the page."""
    statement = select(Submission)
    if status is None:
        statement = statement.where(
            col(Submission.state).in_([s.value for s in queue.REVIEW_STATES])
        )
    else:
        statement = statement.where(Submission.state != "draft")
    statement = statement.order_by(
        col(Submission.submitted_at), col(Submission.created_at), col(Submission.id)
    )
    stories = list(session.exec(statement))
    if theme:
        stories = [story for story in stories if theme in theme_slugs(story)]
    page = stories[:limit]
    ids = [story.id for story in page]
    list(session.exec(select(Media.submission_id).where(col(Media.submission_id).in_(ids))))
    return len(page)


def _old_map(session: Session) -> int:
    """Map counts made in Python from every story."""
    counts: Counter[tuple[str, str, str | None]] = Counter()
    rows = session.exec(
        select(Submission.place_id, Submission.state, Submission.themes).where(
            col(Submission.place_id).is_not(None), Submission.state != "draft"
        )
    )
    for place, state, themes in rows:
        first = themes[0]["slug"] if themes else None
        counts[(str(place), state, first)] += 1
    return len(counts)


def _timed(run: Callable[[], Any], rounds: int) -> list[float]:
    run()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _served(client: requests.Session, url: str, rounds: int) -> list[float]:
    client.get(url, timeout=60)
    times = []
    for _ in range(rounds):
        response = client.get(url, timeout=60)
        response.raise_for_status()
        times.append(float(response.headers["Server-Timing"].split("dur=")[1]))
    return times


def _summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, round(0.95 * len(ordered)) - 1)]


def run_backend(
    name: str, url: str, args: argparse.Namespace, folder: Path
) -> list[tuple[str, ...]]:
    """Build the corpus on one database, serve it, time every page and its baseline."""
    reset(url)
    engine = make_engine(url)
    started = time.perf_counter()
    built = build(engine, stories=args.stories, posts=args.posts)
    print(
        f"{name}: {built.stories} stories, {built.media} photos, {built.posts} posts "
        f"built in {time.perf_counter() - started:.0f} s"
    )
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=folder / name,
        database_url=url,
        secret_key=SecretStr("benchmark-secret-key-0123456789"),
        map_tiles_url="",
    )
    with Session(engine) as session:
        admin = access.person_named(session, "Bench", "admin", actor="benchmark")
        token = access.issue_link(session, admin.id, issued_by="benchmark")
        session.commit()
    rows: list[tuple[str, ...]] = []
    with serving(create_app(settings, engine)) as base:
        client = requests.Session()
        page = client.get(f"{base}/login/{token}", timeout=30).text
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        client.post(f"{base}/login/{token}", data={"csrf": csrf}, timeout=30).raise_for_status()
        measured = {
            label: _summary(_served(client, base + path, args.rounds))
            for label, path in PAGES.items()
        }
    with Session(engine) as session:
        baselines = {
            "queue (waiting for review)": _timed(
                lambda: baseline_load_all(session, status=None, theme=None, limit=30), args.rounds
            ),
            "queue (all states, page 1)": _timed(
                lambda: baseline_load_all(session, status="all", theme=None, limit=30),
                max(5, args.rounds // 4),
            ),
            "queue (theme filter)": _timed(
                lambda: baseline_load_all(session, status="all", theme="abrasi", limit=30),
                max(5, args.rounds // 4),
            ),
            "calendar month (all campaigns)": _timed(
                lambda: calendar(session, timezone="Asia/Makassar"), max(5, args.rounds // 4)
            ),
            "map data (the whole year)": _timed(
                lambda: _old_map(session), max(5, args.rounds // 4)
            ),
        }
    engine.dispose()
    for label, (median, p95) in measured.items():
        base_text, ratio = "", ""
        if label in baselines:
            base_median, _ = _summary(baselines[label])
            base_text, ratio = f"{base_median:.1f} ms", f"{base_median / median:.1f}x"
        rows.append((name, label, f"{median:.1f} ms", f"{p95:.1f} ms", base_text, ratio))
    return rows


def main() -> None:
    """Run on SQLite and PostgreSQL and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_web"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        rows += run_backend("SQLite", f"sqlite:///{folder / 'bench.db'}", args, folder)
        if not args.no_postgres:
            rows += run_backend("PostgreSQL", args.postgres, args, folder)
    print("\n| database | page | median | p95 | baseline (median) | baseline ÷ page |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
