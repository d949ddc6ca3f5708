"""Several worker processes, one post each: exactly once; a killed worker never resends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.config import Settings
from core.delivery_table import Delivery
from core.models import Contributor, Notification, Submission
from publishers.campaigns import create_campaign
from publishers.channels_config import add_channel
from publishers.deliveries import expire_leases
from publishers.deliveries.planning import idempotency_key
from publishers.worker import dispatch_job, housekeeping_jobs, run_worker, start_scheduler
from tests.publishers.dispatch_support import CountingServer, register_test_publishers

register_test_publishers()

ROOT = Path(__file__).resolve().parents[2]
PAST = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def _seed(
    engine: Engine,
    url: str,
    count: int,
    *,
    texts: list[str] | None = None,
    due: datetime = PAST,
) -> None:
    """`count` scheduled stories, each with one delivery to the `fake` HTTP channel, due at
    `due` (long ago by default, so late-post alerts are expected)."""
    with Session(engine) as session:
        channel = add_channel(session, name="fake", kind="test-http", config={"url": url})
        campaign = create_campaign(
            session, slug="adil", name="Adil", hashtags=["AdilUntukBumi"], channels=["fake"]
        )
        person = Contributor(public_name="Maria")
        session.add(person)
        session.commit()
        channel_id, campaign_id, person_id = channel.id, campaign.id, person.id
    with engine.begin() as connection:
        connection.execute(
            insert(Submission.__table__),  # type: ignore[attr-defined]
            [
                {
                    "ref": f"SP-W{i:04d}",
                    "contributor_id": person_id,
                    "state": "scheduled",
                    "version": 1,
                    "consent": "anonymous",
                    "text": texts[i] if texts else f"Cerita nomor {i} dari pesisir.",
                    "force_anonymous": False,
                    "place_skipped": False,
                    "themes": [],
                    "flags": [],
                    "pipeline_errors": {},
                    "card_media_message_ids": [],
                    "created_at": PAST,
                    "updated_at": PAST,
                }
                for i in range(count)
            ],
        )
        ids = connection.execute(
            select(Submission.id).order_by(Submission.id)  # type: ignore[arg-type]
        ).scalars()
        connection.execute(
            insert(Delivery.__table__),  # type: ignore[attr-defined]
            [
                {
                    "submission_id": story_id,
                    "campaign_id": campaign_id,
                    "channel_id": channel_id,
                    "scheduled_at": due + timedelta(seconds=n),
                    "next_attempt_at": due + timedelta(seconds=n),
                    "state": "pending",
                    "attempts": 0,
                    "idempotency_key": idempotency_key(
                        "test", story_id, campaign_id, channel_id or 0
                    ),
                    "created_at": PAST,
                    "updated_at": PAST,
                }
                for n, story_id in enumerate(ids)
            ],
        )


@contextmanager
def _workers(
    database_url: str, tmp_path: Path, count: int
) -> Iterator[list[subprocess.Popen[str]]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.publishers.worker_process",
                database_url,
                f"w{i}",
                str(tmp_path / "data"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _count_by_state(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Delivery.state, func.count()).group_by(Delivery.state)  # type: ignore[arg-type]
        ).all()
    return {state: int(n) for state, n in rows}


def _wait_for(predicate: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


@pytest.mark.slow
def test_four_worker_processes_deliver_each_post_exactly_once(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers at once need PostgreSQL (PESISIR_TEST_DATABASE_URL)")
    total = 1000
    with CountingServer().running() as server:
        _seed(engine, server.url, total)
        with _workers(database_url, tmp_path, 4) as processes:
            _wait_for(lambda: _count_by_state(engine).get("sent", 0) == total, 45)
        assert [p.returncode for p in processes] == [0, 0, 0, 0]  # SIGTERM: a clean stop
        assert len(server.counts) == total
        assert set(server.counts.values()) == {1}  # nobody posted twice
    assert _count_by_state(engine) == {"sent": total}
    with engine.connect() as connection:
        workers = connection.execute(
            select(func.count(func.distinct(Delivery.claimed_by)))  # type: ignore[arg-type]
        ).scalar_one()
        published = connection.execute(
            select(func.count()).where(Submission.state == "published")  # type: ignore[arg-type]
        ).scalar_one()
        told = connection.execute(
            select(func.count()).where(Notification.kind == "published")  # type: ignore[arg-type]
        ).scalar_one()
    assert 1 <= workers <= 4
    assert published == total and told == total  # every story published and announced once


def test_a_worker_killed_mid_send_leaves_unknown_and_nothing_is_resent(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    texts = ["Cerita pertama, sampai dengan selamat.", "Cerita kedua: BLOCK-HERE di tengah kirim."]
    with CountingServer(block_text="BLOCK-HERE").running() as server:
        _seed(engine, server.url, 2, texts=texts, due=datetime.now(UTC))  # due now, not late
        with _workers(database_url, tmp_path, 1) as [worker]:
            assert server.blocked.wait(20), "the worker never reached the fake channel"
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        assert _count_by_state(engine) == {"sent": 1, "sending": 1}
        # The sweeper, once the lease has run out, hands the post to a person.
        swept = expire_leases(engine, datetime.now(UTC) + timedelta(hours=1))
        assert swept == {"unknown": 1, "pending": 0}
        assert _count_by_state(engine) == {"sent": 1, "unknown": 1}
        # The next worker tick (much later) sends nothing again.
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path / "data",
            database_url=database_url,
        )
        stats = run_worker(engine, settings, worker_id="next", stop=threading.Event(), once=True)
        assert stats.claimed == 0
        assert sorted(server.counts.values()) == [1, 1]
    with engine.connect() as connection:
        alerts = connection.execute(
            select(Notification.kind).where(Notification.audience == "moderators")  # type: ignore[arg-type]
        ).scalars()
        assert list(alerts) == ["delivery_unknown"]


def test_start_scheduler_ticks_dispatch_in_the_background(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with CountingServer().running() as server:
        _seed(engine, server.url, 3)
        fast = settings.model_copy(update={"dispatch_interval_seconds": 0.05})
        scheduler = start_scheduler(
            [dispatch_job(engine, fast, worker_id="in-bot"), *housekeeping_jobs(engine, fast)]
        )
        try:
            assert {job.id for job in scheduler.get_jobs()} == {
                "dispatch",
                "expire_leases",
                "late_posts",
                "publish_finished",
                "optimize_database",
            }
            _wait_for(lambda: _count_by_state(engine).get("sent", 0) == 3, 20)
        finally:
            scheduler.shutdown(wait=True)
        assert sorted(server.counts.values()) == [1, 1, 1]
