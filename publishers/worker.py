"""Running dispatch: the `pesisir worker` loop and the scheduler `pesisir run` starts."""

from __future__ import annotations

import logging
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine

from core.clock import utcnow
from core.config import Settings
from publishers.deliveries import expire_leases
from publishers.dispatcher import DispatchStats, dispatch_due, run_tick
from publishers.late_posts import alert_late_posts
from publishers.registry import PublisherFactory

logger = logging.getLogger(__name__)

#: How often `pesisir run` looks for late posts (`pesisir worker` looks every tick).
LATE_CHECK_SECONDS = 60.0


def run_worker(
    engine: Engine,
    settings: Settings,
    *,
    worker_id: str,
    stop: threading.Event,
    once: bool = False,
    publisher_factory: PublisherFactory | None = None,
) -> DispatchStats:
    """The `pesisir worker` loop: sweep leases, dispatch, sleep; until `stop` is set."""
    total = DispatchStats()
    while not stop.is_set():
        try:
            expire_leases(engine)
            alert_late_posts(engine, settings)
            stats = run_tick(
                engine,
                settings,
                worker_id=worker_id,
                stop=stop,
                publisher_factory=publisher_factory,
            )
        except Exception:  # the database went away for a moment: log, wait, try again
            logger.exception("dispatch tick of %s failed", worker_id)
        else:
            total.add(stats)
        if once:
            break
        stop.wait(settings.dispatch_interval_seconds)
    return total


def start_scheduler(engine: Engine, settings: Settings, *, worker_id: str) -> BackgroundScheduler:
    """Start an APScheduler BackgroundScheduler ticking dispatch and housekeeping; returns it.

    Call `.shutdown()` on the result to stop. Safe to run beside other workers.
    """
    scheduler = BackgroundScheduler(timezone="UTC")
    # One batch per tick keeps a tick short, so `shutdown()` never waits for a whole backlog.
    scheduler.add_job(
        dispatch_due,
        "interval",
        seconds=settings.dispatch_interval_seconds,
        kwargs={"engine": engine, "settings": settings, "worker_id": worker_id},
        id="dispatch",
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )
    scheduler.add_job(
        expire_leases,
        "interval",
        seconds=max(30.0, settings.dispatch_interval_seconds),
        kwargs={"engine": engine},
        id="expire_leases",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        alert_late_posts,
        "interval",
        seconds=LATE_CHECK_SECONDS,
        kwargs={"engine": engine, "settings": settings},
        id="late_posts",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    return scheduler
