"""Dispatch benchmark: claim cost and deliveries per second with 100,000 deliveries in the table.

Runs on SQLite (a temporary file) and on PostgreSQL (PESISIR_BENCH_DATABASE_URL, default the
local `test_dispatch` database, which it EMPTIES). Baselines measured in the same run:
- claim: a naive claim (SELECT the due rows ordered by `coalesce(next_attempt_at,
  scheduled_at)`, which no index serves, then UPDATE them one by one);
- send: composing and publishing the same posts in a plain loop, no database bookkeeping.

    PYTHONPATH=. python benchmarks/dispatch.py [--rows 100000] [--send 2000] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Engine

from core.config import Settings
from core.db import make_engine, migrate
from core.delivery_table import Delivery
from core.models import Campaign, Channel, Contributor, Submission
from core.projections import public_story
from publishers import registry
from publishers.base import ALWAYS, Post, Publisher, Receipt, SetupHints
from publishers.deliveries import claim_due
from publishers.deliveries.transitions import DELIVERIES
from publishers.dispatcher import compose_post, dispatch_due
from publishers.text import ChannelRules, no_limit

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test_dispatch"
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
CHANNELS = 100


class NoopPublisher(Publisher):
    """Accepts every post at once (so the benchmark measures our side only)."""

    kind: ClassVar[str] = "bench-noop"
    rules: ClassVar[ChannelRules] = ChannelRules(no_limit, no_limit, None, ("web", "feed"), None)
    resend_safe_seconds: ClassVar[float] = ALWAYS
    rate_per_minute: ClassVar[int | None] = None
    setup_hints: ClassVar[SetupHints] = SetupHints("-", "-", "-", "-")

    def __init__(self) -> None:
        self.count = 0

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> NoopPublisher:
        return cls()

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        self.count += 1
        return Receipt(remote_id=idempotency_key, url=None)

    def delete(self, receipt: Receipt) -> bool:
        return True

    def check(self) -> str:
        return "accepts everything"


registry.register(NoopPublisher)


def reset(url: str) -> None:
    """An empty, migrated database."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(url)


def seed(engine: Engine, rows: int, due: int, future: int) -> None:
    """`rows` deliveries over stories x CHANNELS channels: `due` pending and due now, `future`
    pending later, the rest sent in the past."""
    stories = rows // CHANNELS
    with engine.begin() as connection:
        connection.execute(
            insert(Contributor.__table__), [{"public_name": "Maria", "language": "id"}]
        )  # type: ignore[attr-defined]
        connection.execute(
            insert(Campaign.__table__),  # type: ignore[attr-defined]
            [
                {
                    "slug": "adil",
                    "name": "Adil",
                    "hashtags": ["AdilUntukBumi"],
                    "channels": [],
                    "slots": [],
                    "timezone": "Asia/Makassar",
                    "theme_filter": [],
                    "place_filter": [],
                    "paused": False,
                    "created_at": NOW,
                }
            ],
        )
        connection.execute(
            insert(Channel.__table__),  # type: ignore[attr-defined]
            [
                {
                    "name": f"c{i:03d}",
                    "kind": "bench-noop",
                    "config": {},
                    "paused": False,
                    "created_at": NOW,
                }
                for i in range(CHANNELS)
            ],
        )
        connection.execute(
            insert(Submission.__table__),  # type: ignore[attr-defined]
            [
                {
                    "ref": f"SP-B{i:05d}",
                    "contributor_id": 1,
                    "state": "scheduled",
                    "version": 1,
                    "consent": "anonymous",
                    "text": f"Cerita {i}: air laut masuk lagi ke kampung kami.",
                    "place_name": "Oesapa",
                    "force_anonymous": False,
                    "place_skipped": False,
                    "themes": [{"slug": "banjir-rob", "score": 0.9}],
                    "flags": [],
                    "pipeline_errors": {},
                    "card_media_message_ids": [],
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for i in range(stories)
            ],
        )
    # Deliveries: the due ones spread over stories so each tick touches many stories.
    batch: list[dict[str, Any]] = []
    n = 0
    for channel in range(1, CHANNELS + 1):
        for story in range(1, stories + 1):
            if n < due:
                state, at = "pending", NOW - timedelta(seconds=rows - n)
            elif n < due + future:
                state, at = "pending", NOW + timedelta(days=1, seconds=n)
            else:
                state, at = "sent", NOW - timedelta(days=30, seconds=n)
            batch.append(
                {
                    "submission_id": story,
                    "campaign_id": 1,
                    "channel_id": channel,
                    "scheduled_at": at,
                    "next_attempt_at": at,
                    "state": state,
                    "attempts": 0,
                    "idempotency_key": f"k{n}",
                    "created_at": NOW,
                    "updated_at": NOW,
                    "sent_at": at if state == "sent" else None,
                }
            )
            n += 1
            if len(batch) == 10_000:
                with engine.begin() as connection:
                    connection.execute(insert(Delivery.__table__), batch)  # type: ignore[attr-defined]
                batch = []
    if batch:
        with engine.begin() as connection:
            connection.execute(insert(Delivery.__table__), batch)  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def due_select(naive: bool) -> Any:
    d = DELIVERIES.c
    if naive:
        when = func.coalesce(d.next_attempt_at, d.scheduled_at)
        return select(d.id).where(d.state == "pending", when <= NOW).order_by(when, d.id).limit(20)
    return (
        select(d.id)
        .where(d.state == "pending", d.next_attempt_at <= NOW)
        .order_by(d.next_attempt_at, d.id)
        .limit(20)
    )


def explain(engine: Engine, naive: bool) -> str:
    statement = due_select(naive)
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        rows = connection.execute(text(prefix + sql)).all()
    if engine.dialect.name == "sqlite":
        return "\n".join(f"    {row[-1]}" for row in rows)
    return "\n".join(f"    {row[0]}" for row in rows)


def naive_claim(engine: Engine, worker: str) -> list[int]:
    """The baseline: read the due rows (no usable index), then update each one."""
    d = DELIVERIES.c
    with engine.begin() as connection:
        ids = list(connection.execute(due_select(naive=True)).scalars())
        for delivery_id in ids:
            connection.execute(
                update(DELIVERIES)
                .where(d.id == delivery_id, d.state == "pending")
                .values(state="sending", claimed_by=worker, attempts=d.attempts + 1)
            )
    return ids


def release(engine: Engine, ids: list[int]) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(DELIVERIES).where(DELIVERIES.c.id.in_(ids)).values(state="pending")
        )


def time_claims(engine: Engine, claims: int, naive: bool) -> float:
    """Milliseconds per claim of 20 rows (median of `claims`)."""
    timings: list[float] = []
    taken: list[int] = []
    for _ in range(claims):
        started = time.perf_counter()
        if naive:
            got = naive_claim(engine, "bench")
        else:
            got = claim_due(engine, worker_id="bench", now=NOW, limit=20)
        timings.append((time.perf_counter() - started) * 1000)
        assert len(got) == 20, got
        taken += got
    release(engine, taken)
    return statistics.median(timings)


def time_dispatch(engine: Engine, settings: Settings, count: int) -> tuple[float, float]:
    """Deliveries per second through dispatch_due, and the plain compose+publish baseline."""
    d = DELIVERIES.c
    with engine.connect() as connection:
        ids = list(connection.execute(due_select(naive=False).limit(count)).scalars())
    # Baseline: the same posts, composed and published in a loop, nothing recorded.
    from sqlmodel import Session

    publisher = NoopPublisher()
    with Session(engine) as session:
        rows = session.execute(select(d.submission_id).where(d.id.in_(ids))).scalars().all()
        stories = {sid: session.get(Submission, sid) for sid in set(rows)}
        started = time.perf_counter()
        for sid in rows:
            story = stories[sid]
            assert story is not None
            content = public_story(session, story)
            publisher.publish(
                compose_post(publisher, "bench-noop", content, ["AdilUntukBumi"]),
                idempotency_key="x",
            )
        baseline = len(rows) / (time.perf_counter() - started)
    sent = 0
    started = time.perf_counter()
    while sent < count:
        stats = dispatch_due(engine, settings, worker_id="bench", now=NOW, limit=20)
        if stats.claimed == 0:
            break
        sent += stats.sent
    rate = sent / (time.perf_counter() - started)
    return rate, baseline


def run(label: str, url: str, rows: int, send: int, data_dir: Path) -> None:
    print(f"\n== {label}: {rows:,} deliveries ==")
    reset(url)
    engine = make_engine(url)
    started = time.perf_counter()
    seed(engine, rows, due=send + 4000, future=4000)
    print(f"seeded in {time.perf_counter() - started:.1f} s")
    print("claim query plan (ours: state + next_attempt_at, index ix_deliveries_due):")
    print(explain(engine, naive=False))
    print("naive plan (coalesce(next_attempt_at, scheduled_at): no index fits):")
    print(explain(engine, naive=True))
    ours = time_claims(engine, 30, naive=False)
    naive = time_claims(engine, 30, naive=True)
    print(
        f"claim 20 rows: {ours:.2f} ms (claim_due)  vs  {naive:.2f} ms (naive)  "
        f"→ {naive / ours:.1f}x faster"
    )
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=url)  # type: ignore[call-arg]
    rate, baseline = time_dispatch(engine, settings, send)
    print(
        f"dispatch: {rate:,.0f} deliveries/s through dispatch_due (claim, compose, publish, "
        f"record, publish-check) vs {baseline:,.0f} posts/s composing+publishing alone "
        f"→ bookkeeping costs {baseline / rate:.1f}x"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=2000)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{tmp}/bench.db", args.rows, args.send, Path(tmp))
        if not args.sqlite_only:
            url = os.environ.get("PESISIR_BENCH_DATABASE_URL", DEFAULT_PG)
            run("PostgreSQL", url, args.rows, args.send, Path(tmp))


if __name__ == "__main__":
    main()
