"""Campaigns, per-channel composing, publishers behind one protocol, deliveries and dispatch."""

from publishers.base import (
    AuthError,
    PermanentError,
    Post,
    Publisher,
    PublishError,
    Receipt,
    RetryableError,
)
from publishers.dispatcher import dispatch_due
from publishers.formatting import compose, hashtags_for
from publishers.late_posts import alert_late_posts
from publishers.registry import build_publisher
from publishers.retraction import retract_story
from publishers.scheduling import autofill, schedule_story, unschedule
from publishers.worker import run_worker, start_scheduler

__all__ = [
    "AuthError",
    "PermanentError",
    "Post",
    "PublishError",
    "Publisher",
    "Receipt",
    "RetryableError",
    "alert_late_posts",
    "autofill",
    "build_publisher",
    "compose",
    "dispatch_due",
    "hashtags_for",
    "retract_story",
    "run_worker",
    "schedule_story",
    "start_scheduler",
    "unschedule",
]
