"""Dispatch and publishing housekeeping as periodic jobs, and the `pesisir worker` that runs them.

The bot runs the housekeeping jobs on its own JobQueue (late posts are reported even when no
dispatcher runs), and `pesisir run` adds the dispatch job there too; `pesisir worker` runs all of
them on an APScheduler background scheduler (core.periodic).
"""

from __future__ import annotations

import logging
import threading
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from core.clock import utcnow
from core.config import Settings
from core.db import optimize
from core.periodic import JOB_KWARGS, PeriodicJob
from publishers.deliveries import expire_leases, publish_finished_stories
from publishers.dispatcher import DispatchStats, dispatch_due, run_tick
from publishers.late_posts import alert_late_posts
from publishers.registry import PublisherFactory

logger = logging.getLogger(__name__)

#: How often leases are swept (at least; a slower dispatch interval sweeps as often as it ticks).
LEASE_SWEEP_SECONDS = 30.0


def housekeeping_jobs(engine: Engine, settings: Settings) -> list[PeriodicJob]:
    """Expired leases swept, late posts reported, stories whose posts are all out published:
    safe in any number of processes at once."""
    return [
        PeriodicJob(
            "expire_leases",
            max(LEASE_SWEEP_SECONDS, settings.dispatch_interval_seconds),
            partial(expire_leases, engine),
        ),
        # As often as dispatch ticks: a cheap read that writes only when a post is newly late.
        PeriodicJob(
            "late_posts",
            settings.dispatch_interval_seconds,
            partial(alert_late_posts, engine, settings),
        ),
        # Hourly; PostgreSQL's autovacuum keeps its own statistics.
        PeriodicJob("optimize_database", 3600.0, partial(optimize, engine)),
        PeriodicJob(
            "publish_finished",
            max(LEASE_SWEEP_SECONDS, settings.dispatch_interval_seconds),
            partial(publish_finished_stories, engine),
        ),
    ]


def dispatch_job(
    engine: Engine,
    settings: Settings,
    *,
    worker_id: str,
    stop: threading.Event | None = None,
    total: DispatchStats | None = None,
    publisher_factory: PublisherFactory | None = None,
) -> PeriodicJob:
    """Send due posts every PESISIR_DISPATCH_INTERVAL_SECONDS.

    With `stop`, a run sends until nothing more is due (a worker's backlog); without, one batch
    (inside the bot, so that stopping the bot never waits for a whole backlog).
    """

    def run() -> None:
        if stop is None:
            stats = dispatch_due(
                engine, settings, worker_id=worker_id, publisher_factory=publisher_factory
            )
        else:
            stats = run_tick(
                engine,
                settings,
                worker_id=worker_id,
                stop=stop,
                publisher_factory=publisher_factory,
            )
        if total is not None:
            total.add(stats)

    return PeriodicJob("dispatch", settings.dispatch_interval_seconds, run, first_seconds=0.0)


def start_scheduler(jobs: list[PeriodicJob]) -> BackgroundScheduler:
    """Start an APScheduler background scheduler running `jobs`; `.shutdown()` stops it."""
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in jobs:
        first = None if job.first_seconds is None else utcnow()
        scheduler.add_job(
            _run_logged,
            "interval",
            args=[job],
            seconds=job.seconds,
            id=job.name,
            **JOB_KWARGS,
            **({"next_run_time": first} if first is not None else {}),
        )
    scheduler.start()
    return scheduler


def _run_logged(job: PeriodicJob) -> None:
    try:
        job.run()
    except Exception:  # the database went away for a moment: log, the next run tries again
        logger.exception("periodic job %s failed", job.name)


def run_worker(
    engine: Engine,
    settings: Settings,
    *,
    worker_id: str,
    stop: threading.Event,
    once: bool = False,
    publisher_factory: PublisherFactory | None = None,
) -> DispatchStats:
    """The `pesisir worker`: housekeeping and dispatch until `stop` is set (or one round)."""
    total = DispatchStats()
    jobs = [
        *housekeeping_jobs(engine, settings),
        dispatch_job(
            engine,
            settings,
            worker_id=worker_id,
            stop=stop,
            total=total,
            publisher_factory=publisher_factory,
        ),
    ]
    if once:
        for job in jobs:
            _run_logged(job)
        return total
    scheduler = start_scheduler(jobs)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
    return total
