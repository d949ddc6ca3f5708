"""Dispatch: one tick claims due deliveries, composes and sends each once, records the outcome.

The `deliveries` table is the source of truth and `publishers.deliveries` its only writer; this
module only ticks. See DESIGN.md "Deliveries" for the state machine and the README's
"Dispatch: how a post goes out once".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from core.clock import as_utc, utcnow
from core.config import Settings
from core.db import session_scope
from core.errors import ConfigError, NotAllowed
from core.models import Submission
from core.projections import PublicStory, public_story
from core.states import SOCIAL_CONSENTS, DeliveryState, SubmissionState
from publishers import deliveries, formatting, registry, retraction
from publishers.base import (
    AuthError,
    ComposeError,
    PermanentError,
    Post,
    Publisher,
    RetryableError,
    UncertainError,
)
from publishers.deliveries import Claim
from publishers.registry import PublisherFactory

logger = logging.getLogger(__name__)

D = DeliveryState


@dataclass
class DispatchStats:
    """What one `dispatch_due` call did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    released: int = 0  # given back unsent because their channel was paused meanwhile
    published: list[str] = field(default_factory=list)  # story refs that became published

    def add(self, other: DispatchStats) -> None:
        """Add `other`'s counts to these."""
        for name in ("claimed", "sent", "retried", "failed", "unknown", "cancelled", "released"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.published += other.published

    def count(self, state: DeliveryState) -> None:
        """Count an outcome by the state it left the post in."""
        if state == D.PENDING:
            self.retried += 1
        elif state == D.UNKNOWN:
            self.unknown += 1
        else:
            self.failed += 1


def compose_post(
    publisher: Publisher | None,
    kind: str,
    story: PublicStory,
    campaign_hashtags: Sequence[str],
    *,
    caption: str | None = None,
) -> Post:
    """The post for one channel, composed to its own rules with the campaign's and the themes'
    hashtags; a post's own `caption` stands for the story's text and is fitted the same way.
    Without a publisher (its credentials are not set), the kind's declared rules are used."""
    hashtags = formatting.hashtags_for(list(campaign_hashtags), list(story.themes))
    if caption:
        story = replace(story, text=caption)
    rules = publisher.compose_rules() if publisher is not None else None
    return formatting.compose(kind, story, hashtags=hashtags, rules=rules)


@dataclass(frozen=True)
class _Job:
    """A claim and what to do with it: send `content`, or cancel for `cancel_reason`."""

    claim: Claim
    cancel_reason: str | None
    content: PublicStory | None
    content_error: str | None


def _load_job(engine: Engine, delivery_id: int, worker_id: str, settings: Settings) -> _Job | None:
    with session_scope(engine) as session:
        claim = deliveries.load_claim(session, delivery_id, worker_id)
        if claim is None:
            return None
        story = session.get(Submission, claim.submission_id)
        assert story is not None
        cancel_reason = None
        if story.state not in (SubmissionState.SCHEDULED.value, SubmissionState.PUBLISHED.value):
            cancel_reason = f"story is {story.state}"
        elif story.consent not in SOCIAL_CONSENTS:
            cancel_reason = f"consent is {story.consent}"
        content = error = None
        if cancel_reason is None:
            try:
                content = public_story(session, story, data_dir=settings.data_dir)
            except NotAllowed as exc:
                error = str(exc)
    return _Job(claim, cancel_reason, content, error)


def dispatch_due(
    engine: Engine,
    settings: Settings,
    *,
    worker_id: str,
    now: datetime | None = None,
    limit: int = deliveries.BATCH,
    lease_seconds: float = deliveries.LEASE_SECONDS,
    publisher_factory: PublisherFactory | None = None,
) -> DispatchStats:
    """Claim due deliveries, compose and send each once, record the outcome; one tick."""
    build = publisher_factory or registry.build_publisher
    claim_time = as_utc(now or utcnow())
    # Outcomes are stamped with the caller's clock when one was given (tests, benchmarks).
    clock: Callable[[], datetime] = (lambda: claim_time) if now else utcnow
    stats = DispatchStats()
    ids = deliveries.claim_due(
        engine, worker_id=worker_id, now=claim_time, limit=limit, lease_seconds=lease_seconds
    )
    stats.claimed = len(ids)
    publishers: dict[int, Publisher] = {}
    paused: set[int] = set()
    for index, delivery_id in enumerate(ids):
        job = _load_job(engine, delivery_id, worker_id, settings)
        if job is None:
            continue
        claim, at = job.claim, clock()
        if job.cancel_reason:
            with session_scope(engine) as session:
                deliveries.cancel_claimed(session, claim, job.cancel_reason, at)
            stats.cancelled += 1
            continue
        if claim.held or claim.channel_id in paused:
            with session_scope(engine) as session:
                deliveries.release(session, claim, at)
            stats.released += 1
            continue
        if claim.uncertain_since is not None and not deliveries.resend_is_safe(
            claim.kind, since=claim.uncertain_since, now=at
        ):
            # An earlier send may be out, and the platform no longer remembers our key
            # (Mastodon forgets it after an hour): sending now could post twice.
            with session_scope(engine) as session:
                deliveries.record_unknown(session, claim, deliveries.WINDOW_PASSED, at)
            stats.unknown += 1
            continue
        until = at + timedelta(seconds=lease_seconds)
        if not deliveries.renew_lease(engine, claim, until, waiting=ids[index + 1 :]):
            continue  # the sweeper took it (this batch ran long): not ours to send any more
        _send(
            engine,
            settings,
            job,
            build=build,
            publishers=publishers,
            paused=paused,
            clock=clock,
            stats=stats,
        )
    if stats.claimed:
        logger.info(
            "dispatch %s: %d claimed, %d sent, %d retried, %d failed, %d unknown",
            worker_id,
            stats.claimed,
            stats.sent,
            stats.retried,
            stats.failed,
            stats.unknown,
        )
    return stats


def _send(
    engine: Engine,
    settings: Settings,
    job: _Job,
    *,
    build: PublisherFactory,
    publishers: dict[int, Publisher],
    paused: set[int],
    clock: Callable[[], datetime],
    stats: DispatchStats,
) -> None:
    """Send one claimed post and record what happened."""
    claim = job.claim
    try:
        if job.content is None:
            raise PermanentError(job.content_error or "nothing to publish")
        publisher = publishers.get(claim.channel_id)
        if publisher is None:
            try:
                publisher = build(claim.kind, claim.config, settings)
            except (ConfigError, KeyError) as exc:
                raise AuthError(f"channel not usable: {exc}") from exc
            publishers[claim.channel_id] = publisher
        post = compose_post(
            publisher, claim.kind, job.content, claim.hashtags, caption=claim.caption
        )
        publisher.use_checkpoint(deliveries.DeliveryCheckpoint(engine, claim))
        receipt = publisher.publish(post, idempotency_key=claim.idempotency_key)
    except RetryableError as exc:
        with session_scope(engine) as session:
            stats.count(deliveries.record_retry(session, claim, exc, clock()))
    except AuthError as exc:
        with session_scope(engine) as session:
            deliveries.record_auth(session, claim, exc, clock())
        paused.add(claim.channel_id)
        stats.failed += 1
    except UncertainError as exc:
        with session_scope(engine) as session:
            stats.count(deliveries.record_unknown(session, claim, exc, clock()))
    except (PermanentError, ComposeError) as exc:
        with session_scope(engine) as session:
            deliveries.record_failed(session, claim, exc, clock())
        stats.failed += 1
    except Exception as exc:  # a bug, or a connection broken mid-send
        logger.exception("delivery %d crashed mid-send", claim.delivery_id)
        with session_scope(engine) as session:
            stats.count(deliveries.record_unknown(session, claim, exc, clock()))
    else:
        with session_scope(engine) as session:
            deliveries.record_sent(session, claim, receipt, clock(), timezone=settings.timezone)
        stats.sent += 1
        if _withdrawn_meanwhile(engine, claim.submission_id):
            # The contributor took the story back while it was being sent: take it down.
            retraction.take_down_late(
                engine,
                publisher,
                claim.delivery_id,
                claim.submission_id,
                actor=f"worker:{claim.worker_id}",
            )
            return
        # A separate transaction, after the sent row is committed: of two workers finishing
        # a story's last two posts, the later one sees both sent.
        with session_scope(engine) as session:
            if deliveries.publish_story_if_done(
                session, claim.submission_id, actor=f"worker:{claim.worker_id}"
            ):
                stats.published.append(claim.ref)


def _withdrawn_meanwhile(engine: Engine, submission_id: int) -> bool:
    with session_scope(engine) as session:
        story = session.get(Submission, submission_id)
        gone = (SubmissionState.WITHDRAWN.value, SubmissionState.ERASED.value)
        return story is None or story.state in gone


def run_tick(
    engine: Engine,
    settings: Settings,
    *,
    worker_id: str,
    stop: threading.Event | None = None,
    **kwargs: Any,
) -> DispatchStats:
    """Dispatch until nothing more is due right now (one scheduler tick), or until `stop`."""
    total = DispatchStats()
    while stop is None or not stop.is_set():
        stats = dispatch_due(engine, settings, worker_id=worker_id, **kwargs)
        total.add(stats)
        if stats.claimed in (0, stats.released):
            break
    return total
