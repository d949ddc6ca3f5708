"""Periodic work, described once and run by APScheduler wherever it runs.

Every process runs its periodic work with APScheduler: the bot through python-telegram-bot's
JobQueue (an APScheduler scheduler on its event loop), `pesisir worker` through a background
scheduler. A job is described here once (what, how often) and each runner schedules the same
descriptions, so nothing periodic is hand-written as a loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicJob:
    """Blocking work to run every `seconds` (at most one run at a time; missed runs coalesce)."""

    name: str
    seconds: float
    run: Callable[[], object]
    first_seconds: float | None = None  # when to run first (None: after `seconds`)


#: How every periodic job runs under APScheduler: one run at a time, missed runs coalesced into
#: one, and a run due while the scheduler was starting (or busy) still runs, however late.
JOB_KWARGS = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
