"""Dispatch: claim due deliveries atomically, send each once, record what happened.

The `deliveries` table is the source of truth; this module only ticks. See DESIGN.md
"Deliveries" for the state machine and README "Dispatch: how a post goes out once".
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core import audit, notifications
from core.clock import as_utc, utcnow
from core.config import Settings
from core.db import claim_rows, session_scope
from core.errors import ConfigError, NotAllowed
from core.models import Campaign, Channel, Delivery, Submission
from core.states import Audience, DeliveryState, SubmissionState
from publishers import factory, formatting, registry
from publishers.base import (
    AuthError,
    PermanentError,
    Post,
    Publisher,
    Receipt,
    RetryableError,
    UncertainError,
)
from publishers.content import StoryContent
from publishers.late_posts import alert_if_sent_late, alert_late_posts
from publishers.scheduling import SOCIAL_CONSENTS, content_for, mark_published_if_done

logger = logging.getLogger(__name__)

DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]
CHANNELS: Table = Channel.__table__  # type: ignore[attr-defined]
CAMPAIGNS: Table = Campaign.__table__  # type: ignore[attr-defined]

PENDING = DeliveryState.PENDING.value
SENDING = DeliveryState.SENDING.value

#: Backoff after a retryable error: 30 s, 60 s, 120 s ... capped at one hour, with jitter.
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
#: After this many attempts a retryable error counts as permanent (a person looks).
MAX_ATTEMPTS = 8
#: How long a claim holds before the sweeper calls the delivery `unknown`. Renewed just before
#: each send, so it must cover one send: up to 4 uploads of 120 s plus the post (publishers.http).
LEASE_SECONDS = 900
#: Deliveries claimed per tick per worker.
BATCH = 20
#: How often `pesisir run` looks for late posts (`pesisir worker` looks every tick).
LATE_CHECK_SECONDS = 60.0
#: Error text kept on the row and in alerts (platform messages can be long).
ERROR_CHARS = 300

PublisherFactory = Callable[[str, dict[str, Any], Settings], Publisher]


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


# -- claiming ---------------------------------------------------------------------------------


def _is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _claim_batch(
    connection: Connection,
    *,
    channel_ids: Sequence[int],
    blocked_campaigns: Sequence[int],
    worker_id: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
) -> list[int]:
    """One atomic `UPDATE ... RETURNING id` over the first `limit` due rows."""
    d = DELIVERIES.c
    due = (
        select(d.id)
        .where(d.state == PENDING, d.next_attempt_at <= now, d.channel_id.in_(channel_ids))
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    )
    if blocked_campaigns:
        due = due.where(or_(d.campaign_id.is_(None), d.campaign_id.not_in(blocked_campaigns)))
    values = {
        "state": SENDING,
        "claimed_by": worker_id,
        "claimed_at": now,
        "lease_until": now + timedelta(seconds=lease_seconds),
        "attempts": d.attempts + 1,
        "updated_at": now,
    }
    return claim_rows(connection, DELIVERIES, due, still=d.state == PENDING, values=values)


def claim_due(
    engine: Engine,
    *,
    worker_id: str,
    now: datetime | None = None,
    limit: int = BATCH,
    lease_seconds: float = LEASE_SECONDS,
) -> list[int]:
    """Atomically mark up to `limit` due deliveries `sending` for this worker; their ids.

    Paused channels and campaigns are skipped; a channel with `rate_per_minute` gets no more
    claims than its budget for the last minute leaves.
    """
    now = as_utc(now or utcnow())
    c, d = CHANNELS.c, DELIVERIES.c
    claimed: list[int] = []
    with engine.begin() as connection:
        channels = connection.execute(
            select(c.id, c.rate_per_minute).where(c.paused.is_(False)).order_by(c.id)
        ).all()
        blocked = list(
            connection.execute(select(CAMPAIGNS.c.id).where(CAMPAIGNS.c.paused.is_(True))).scalars()
        )
        unlimited = [row.id for row in channels if not row.rate_per_minute]
        limited = {row.id: int(row.rate_per_minute) for row in channels if row.rate_per_minute}
        # Rate-limited channels first: their budget caps them, and a backlog on an unlimited
        # channel (the outbox) must not starve them.
        if limited:
            if _is_postgres(connection):
                # Serialise budget checks between workers: lock the rate-limited channel rows
                # until this transaction commits its claims.
                connection.execute(
                    select(c.id).where(c.id.in_(list(limited))).order_by(c.id).with_for_update()
                )
            used: dict[int, int] = dict(
                connection.execute(
                    select(d.channel_id, func.count())
                    .where(
                        d.channel_id.in_(list(limited)),
                        d.claimed_at > now - timedelta(seconds=60),
                    )
                    .group_by(d.channel_id)
                ).all()
            )
            for channel_id, per_minute in limited.items():
                budget = min(per_minute - int(used.get(channel_id, 0)), limit - len(claimed))
                if budget <= 0:
                    continue
                claimed += _claim_batch(
                    connection,
                    channel_ids=[channel_id],
                    blocked_campaigns=blocked,
                    worker_id=worker_id,
                    now=now,
                    limit=budget,
                    lease_seconds=lease_seconds,
                )
        if unlimited and len(claimed) < limit:
            claimed += _claim_batch(
                connection,
                channel_ids=unlimited,
                blocked_campaigns=blocked,
                worker_id=worker_id,
                now=now,
                limit=limit - len(claimed),
                lease_seconds=lease_seconds,
            )
    return claimed


# -- composing and building publishers --------------------------------------------------------


def compose_post(
    kind: str,
    story: StoryContent,
    campaign_hashtags: Sequence[str],
    *,
    rules: formatting.ChannelRules | None = None,
) -> Post:
    """The post for one channel kind, with the campaign's and the themes' hashtags.

    A publisher class may say `compose_as = "<kind>"` to borrow another kind's composing rules
    (a test channel or a second outbox-like channel). `rules`, when given, are the channel's own
    (see `publisher_rules`) and replace the kind's defaults.
    """
    try:
        rules_kind = str(getattr(registry.publisher_class(kind), "compose_as", kind))
    except KeyError:
        rules_kind = kind
    hashtags = formatting.hashtags_for(list(campaign_hashtags), list(story.themes))
    return formatting.compose(rules_kind, story, hashtags=hashtags, rules=rules)


def publisher_rules(publisher: Publisher) -> formatting.ChannelRules | None:
    """The composing rules a publisher gives for its own server, or None for the kind's.

    A publisher whose limits depend on the server (Mastodon reads `/api/v2/instance`) has a
    `compose_rules()` method; the limits then live in one place, the publisher, and composing
    stays a pure function of the story and those rules.
    """
    compose_rules = getattr(publisher, "compose_rules", None)
    return cast("formatting.ChannelRules", compose_rules()) if compose_rules else None


def default_publisher_factory(kind: str, config: dict[str, Any], settings: Settings) -> Publisher:
    """Build the publisher for a channel (secrets from settings; see `publishers.factory`)."""
    return factory.build_publisher(kind, config, settings)


#: Channel kinds where sending the same post again with the same idempotency key cannot make a
#: second post, and for how long after the first try that holds (None: always).
#: PLATFORMS.md: the outbox writes under the key; Bluesky `putRecord` with a record key derived
#: from it; WordPress looks its deterministic slug up before creating; Mastodon remembers an
#: `Idempotency-Key` for up to an hour (we keep a margin). Telegram has no idempotency.
RESEND_SAFE_SECONDS: dict[str, float | None] = {
    "outbox": None,
    "bluesky": None,
    "wordpress": None,
    "mastodon": 50 * 60,
}


WINDOW_PASSED = "an earlier send may have gone out and the platform's idempotency window has passed"


def is_idempotent(
    kind: str, *, claimed_at: datetime | None = None, now: datetime | None = None
) -> bool:
    """True when a resend to this kind of channel cannot make a second post.

    A publisher class may declare `idempotent = True` (or False) to override the table above.
    """
    try:
        declared = getattr(registry.publisher_class(kind), "idempotent", None)
    except KeyError:
        declared = None
    if declared is not None:
        return bool(declared)
    if kind not in RESEND_SAFE_SECONDS:
        return False
    window = RESEND_SAFE_SECONDS[kind]
    if window is None or claimed_at is None:
        return True
    return (as_utc(now or utcnow()) - as_utc(claimed_at)).total_seconds() < window


# -- recording outcomes -----------------------------------------------------------------------


def backoff_seconds(
    attempts: int, retry_after: float | None = None, *, rng: random.Random | None = None
) -> float:
    """Capped exponential backoff with jitter; never sooner than the platform's retry_after."""
    rng = rng or random.Random()
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    delay = rng.uniform(ceiling / 2, ceiling)  # "equal jitter": spread, but never near zero
    if retry_after is not None and retry_after > 0:
        delay = max(delay, float(retry_after) + rng.uniform(0, 1))
    return delay


def _short(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


def _mine(delivery_id: int, worker_id: str) -> Any:
    d = DELIVERIES.c
    # A row still ours: `sending`, or `unknown` when the sweeper gave up on a slow send that did
    # finish (then the receipt we hold is the truth).
    return and_(
        d.id == delivery_id,
        d.claimed_by == worker_id,
        d.state.in_([SENDING, DeliveryState.UNKNOWN.value]),
    )


def _alert(session: Session, kind: str, *, submission_id: int | None, **params: Any) -> None:
    notifications.enqueue(
        session,
        kind=kind,
        audience=Audience.MODERATORS,
        submission_id=submission_id,
        params=params,
    )


@dataclass(frozen=True)
class _Job:
    delivery_id: int
    submission_id: int
    ref: str
    channel_id: int
    channel_name: str
    kind: str
    config: dict[str, Any]
    campaign: str | None
    hashtags: tuple[str, ...]
    idempotency_key: str
    attempts: int
    uncertain_since: datetime | None  # a send may have gone out unconfirmed since then
    held: bool  # its channel or campaign was paused after the claim: give it back unsent
    cancel_reason: str | None
    content: StoryContent | None
    content_error: str | None


def _load_job(session: Session, delivery_id: int, settings: Settings) -> _Job | None:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None
    story = session.get(Submission, delivery.submission_id)
    channel = session.get(Channel, delivery.channel_id)
    campaign = session.get(Campaign, delivery.campaign_id) if delivery.campaign_id else None
    assert story is not None and channel is not None and channel.id is not None
    cancel_reason = None
    if story.state not in (SubmissionState.SCHEDULED.value, SubmissionState.PUBLISHED.value):
        cancel_reason = f"story is {story.state}"
    elif story.consent not in SOCIAL_CONSENTS:
        cancel_reason = f"consent is {story.consent}"
    content = error = None
    if cancel_reason is None:
        try:
            content = content_for(session, story, data_dir=settings.data_dir)
        except NotAllowed as exc:
            error = str(exc)
    return _Job(
        delivery_id=delivery_id,
        submission_id=story.id or 0,
        ref=story.ref,
        channel_id=channel.id,
        channel_name=channel.name,
        kind=channel.kind,
        config=dict(channel.config or {}),
        campaign=campaign.slug if campaign else None,
        hashtags=tuple(campaign.hashtags) if campaign else (),
        idempotency_key=delivery.idempotency_key or f"delivery-{delivery_id}",
        attempts=delivery.attempts,
        uncertain_since=delivery.uncertain_since,
        held=bool(channel.paused or (campaign is not None and campaign.paused)),
        cancel_reason=cancel_reason,
        content=content,
        content_error=error,
    )


def _finish(
    engine: Engine,
    job: _Job,
    worker_id: str,
    now: datetime,
    state: str,
    *,
    alert: str | None = None,
    after: Callable[[Session], None] | None = None,
    **columns: Any,
) -> bool:
    """Write the outcome if the row is still ours; then, in the same transaction, `after` and
    the moderators' `alert` (story, channel, campaign and `last_error`)."""
    values = {"state": state, "lease_until": None, "updated_at": now, **columns}
    with session_scope(engine) as session:
        result = session.execute(
            update(DELIVERIES).where(_mine(job.delivery_id, worker_id)).values(**values)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            logger.warning("delivery %d was taken from worker %s", job.delivery_id, worker_id)
            return False
        if after is not None:
            after(session)
        if alert is not None:
            _alert(
                session,
                alert,
                submission_id=job.submission_id,
                ref=job.ref,
                channel=job.channel_name,
                campaign=job.campaign,
                error=values.get("last_error"),
            )
    return True


def _record_sent(
    engine: Engine,
    job: _Job,
    worker_id: str,
    receipt: Receipt,
    now: datetime,
    *,
    settings: Settings,
) -> None:
    _finish(
        engine,
        job,
        worker_id,
        now,
        DeliveryState.SENT.value,
        after=lambda session: alert_if_sent_late(session, settings, job.delivery_id, now),
        remote_id=receipt.remote_id,
        remote_url=receipt.url,
        receipt={"remote_id": receipt.remote_id, "url": receipt.url, "extra": receipt.extra},
        sent_at=now,
        last_error=None,
    )


def _record_retry(
    engine: Engine, job: _Job, worker_id: str, error: RetryableError, now: datetime
) -> bool:
    """Back to pending after a backoff; False when attempts ran out (then it failed)."""
    if job.attempts >= MAX_ATTEMPTS:
        _record_failed(engine, job, worker_id, error, now)
        return False
    delay = backoff_seconds(job.attempts, error.retry_after)
    # From the first answer that may hide a made post, the platform's idempotency window runs.
    since = job.uncertain_since or (now if error.maybe_sent else None)
    _finish(
        engine,
        job,
        worker_id,
        now,
        PENDING,
        next_attempt_at=now + timedelta(seconds=delay),
        last_error=_short(error),
        uncertain_since=since,
    )
    logger.info("delivery %d: retry in %.0f s (%s)", job.delivery_id, delay, type(error).__name__)
    return True


def _record_failed(
    engine: Engine, job: _Job, worker_id: str, error: BaseException, now: datetime
) -> None:
    message = _short(error)
    state = DeliveryState.FAILED.value
    _finish(engine, job, worker_id, now, state, alert="delivery_failed", last_error=message)
    logger.warning("delivery %d to %s failed: %s", job.delivery_id, job.channel_name, message)


def _record_auth(
    engine: Engine, job: _Job, worker_id: str, error: BaseException, now: datetime
) -> None:
    message = _short(error)

    def pause(session: Session) -> None:
        session.execute(
            update(CHANNELS)
            .where(CHANNELS.c.id == job.channel_id)
            .values(paused=True, paused_reason=f"auth: {message}")
        )

    state = DeliveryState.FAILED.value
    _finish(
        engine, job, worker_id, now, state, alert="channel_paused", after=pause, last_error=message
    )
    logger.error("channel %s paused: %s", job.channel_name, message)


def _record_unknown(
    engine: Engine, job: _Job, worker_id: str, error: BaseException, now: datetime
) -> str:
    """An unexpected error mid-send: maybe it went out. Resend only where that is safe.

    Even a safe resend stops after MAX_ATTEMPTS: then a person hears of it.
    """
    message = _short(error)
    since = job.uncertain_since or now
    if job.attempts < MAX_ATTEMPTS and is_idempotent(job.kind, claimed_at=since, now=now):
        delay = backoff_seconds(job.attempts)
        state = PENDING
        _finish(
            engine,
            job,
            worker_id,
            now,
            state,
            next_attempt_at=now + timedelta(seconds=delay),
            last_error=message,
            uncertain_since=since,
        )
    else:
        state = DeliveryState.UNKNOWN.value
        _finish(engine, job, worker_id, now, state, alert="delivery_unknown", last_error=message)
    logger.error("delivery %d: outcome unknown (%s)", job.delivery_id, message)
    return state


def _renew_lease(
    engine: Engine, job: _Job, worker_id: str, until: datetime, waiting: Sequence[int] = ()
) -> bool:
    """Extend our claim just before sending; False when the row is no longer ours.

    The rest of the batch (`waiting`) is extended too: a batch of slow sends must not have its
    later posts swept to `unknown` (and alerted) before they were even tried.
    """
    d = DELIVERIES.c
    with engine.begin() as connection:
        result = connection.execute(
            update(DELIVERIES)
            .where(d.id == job.delivery_id, d.claimed_by == worker_id, d.state == SENDING)
            .values(lease_until=until)
        )
        if waiting:
            connection.execute(
                update(DELIVERIES)
                .where(d.id.in_(waiting), d.claimed_by == worker_id, d.state == SENDING)
                .values(lease_until=until)
            )
    return bool(result.rowcount)


def _release(engine: Engine, job: _Job, worker_id: str, now: datetime) -> None:
    """Give a claimed delivery back unsent (its channel or campaign was paused meanwhile)."""
    _finish(engine, job, worker_id, now, PENDING, attempts=DELIVERIES.c.attempts - 1)


def _cancel(engine: Engine, job: _Job, worker_id: str, now: datetime) -> None:
    state = DeliveryState.CANCELLED.value
    _finish(engine, job, worker_id, now, state, last_error=job.cancel_reason)


# -- the tick ---------------------------------------------------------------------------------


def dispatch_due(
    engine: Engine,
    settings: Settings,
    *,
    worker_id: str,
    now: datetime | None = None,
    limit: int = BATCH,
    lease_seconds: float = LEASE_SECONDS,
    publisher_factory: PublisherFactory | None = None,
) -> DispatchStats:
    """Claim due deliveries, compose and send each once, record the outcome; one tick."""
    build = publisher_factory or default_publisher_factory
    claim_time = as_utc(now or utcnow())
    # Outcomes are stamped with the caller's clock when one was given (tests, benchmarks).
    clock: Callable[[], datetime] = (lambda: claim_time) if now else utcnow
    stats = DispatchStats()
    ids = claim_due(
        engine, worker_id=worker_id, now=claim_time, limit=limit, lease_seconds=lease_seconds
    )
    stats.claimed = len(ids)
    publishers: dict[int, Publisher] = {}
    paused: set[int] = set()
    for index, delivery_id in enumerate(ids):
        with session_scope(engine) as session:
            job = _load_job(session, delivery_id, settings)
        if job is None:
            continue
        at = clock()
        if job.cancel_reason:
            _cancel(engine, job, worker_id, at)
            stats.cancelled += 1
            continue
        if job.held or job.channel_id in paused:
            _release(engine, job, worker_id, at)
            stats.released += 1
            continue
        if job.uncertain_since is not None and not is_idempotent(
            job.kind, claimed_at=job.uncertain_since, now=at
        ):
            # An earlier send may be out, and the platform no longer remembers our key
            # (Mastodon forgets it after an hour): sending now could post twice.
            _finish(
                engine,
                job,
                worker_id,
                at,
                DeliveryState.UNKNOWN.value,
                alert="delivery_unknown",
                last_error=WINDOW_PASSED,
            )
            stats.unknown += 1
            continue
        until = at + timedelta(seconds=lease_seconds)
        if not _renew_lease(engine, job, worker_id, until, waiting=ids[index + 1 :]):
            continue  # the sweeper took it (this batch ran long): not ours to send any more
        try:
            if job.content is None:
                raise PermanentError(job.content_error or "nothing to publish")
            publisher = publishers.get(job.channel_id)
            if publisher is None:
                try:
                    publisher = build(job.kind, job.config, settings)
                except (ConfigError, KeyError) as exc:
                    raise AuthError(f"channel not usable: {exc}") from exc
                publishers[job.channel_id] = publisher
            # Composed for this channel's own limits, as its publisher knows them.
            rules = publisher_rules(publisher)
            post = compose_post(job.kind, job.content, job.hashtags, rules=rules)
            receipt = publisher.publish(post, idempotency_key=job.idempotency_key)
        except RetryableError as exc:
            if _record_retry(engine, job, worker_id, exc, clock()):
                stats.retried += 1
            else:
                stats.failed += 1
        except AuthError as exc:
            _record_auth(engine, job, worker_id, exc, clock())
            paused.add(job.channel_id)
            stats.failed += 1
        except UncertainError as exc:
            if _record_unknown(engine, job, worker_id, exc, clock()) == PENDING:
                stats.retried += 1
            else:
                stats.unknown += 1
        except (PermanentError, ValueError) as exc:
            # ValueError: the composer could not fit this story to the channel.
            _record_failed(engine, job, worker_id, exc, clock())
            stats.failed += 1
        except Exception as exc:  # a bug, or a connection broken mid-send
            logger.exception("delivery %d crashed mid-send", delivery_id)
            if _record_unknown(engine, job, worker_id, exc, clock()) == PENDING:
                stats.retried += 1
            else:
                stats.unknown += 1
        else:
            _record_sent(engine, job, worker_id, receipt, clock(), settings=settings)
            stats.sent += 1
            # A separate transaction, after the sent row is committed: of two workers finishing
            # a story's last two posts, the later one sees both sent.
            with session_scope(engine) as session:
                if mark_published_if_done(session, job.submission_id, actor=f"worker:{worker_id}"):
                    stats.published.append(job.ref)
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


def expire_leases(engine: Engine, now: datetime | None = None) -> dict[str, int]:
    """Sweep `sending` rows whose lease ran out: `unknown` + alert, or `pending` if resend-safe."""
    now = as_utc(now or utcnow())
    d, c = DELIVERIES.c, CHANNELS.c
    counts = {"unknown": 0, "pending": 0}
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                d.id, d.submission_id, d.attempts, d.claimed_at, d.uncertain_since, c.kind, c.name
            )
            .join(CHANNELS, c.id == d.channel_id)
            .where(d.state == SENDING, d.lease_until < now)
        ).all()
        for row in rows:
            # A worker that dies on the same post every time must not loop it forever.
            since = row.uncertain_since or row.claimed_at
            safe = row.attempts < MAX_ATTEMPTS and is_idempotent(
                row.kind, claimed_at=since, now=now
            )
            values: dict[str, Any] = {
                "state": PENDING if safe else DeliveryState.UNKNOWN.value,
                "lease_until": None,
                "last_error": "lease expired: the worker stopped mid-send",
                "updated_at": now,
            }
            if safe:
                values["next_attempt_at"] = now
                values["uncertain_since"] = since
            changed = session.execute(
                update(DELIVERIES)
                .where(d.id == row.id, d.state == SENDING, d.lease_until < now)
                .values(**values)
            ).rowcount  # type: ignore[attr-defined]
            if not changed:
                continue
            if safe:
                counts["pending"] += 1
                continue
            counts["unknown"] += 1
            story = session.get(Submission, row.submission_id)
            _alert(
                session,
                "delivery_unknown",
                submission_id=row.submission_id,
                ref=story.ref if story else None,
                channel=row.name,
                error="lease expired: the worker stopped mid-send",
            )
    if counts["unknown"] or counts["pending"]:
        logger.warning(
            "leases expired: %d unknown, %d back to pending", counts["unknown"], counts["pending"]
        )
    return counts


# -- withdrawal -------------------------------------------------------------------------------


def retract_story(
    engine: Engine,
    settings: Settings,
    submission_id: int,
    *,
    actor: str = "system:withdrawal",
    publisher_factory: PublisherFactory | None = None,
) -> dict[str, Any]:
    """Cancel a story's pending deliveries and delete its sent posts where the platform allows.

    Returns `{"cancelled": n, "deleted": [channel...], "kept": [{channel, url, reason}]}`;
    each result is audited. Posts that cannot be deleted, and posts being sent or of unknown
    outcome (they may be out), are listed for a person to remove.
    """
    build = publisher_factory or default_publisher_factory
    now = utcnow()
    d = DELIVERIES.c
    with session_scope(engine) as session:
        cancelled = int(
            session.execute(
                update(DELIVERIES)
                .where(d.submission_id == submission_id, d.state == PENDING)
                .values(state=DeliveryState.CANCELLED.value, updated_at=now)
            ).rowcount  # type: ignore[attr-defined]
            or 0
        )
        sent = session.execute(
            select(
                d.id,
                d.remote_id,
                d.remote_url,
                d.receipt,
                CHANNELS.c.name,
                CHANNELS.c.kind,
                CHANNELS.c.config,
            )
            .join(CHANNELS, CHANNELS.c.id == d.channel_id)
            .where(d.submission_id == submission_id, d.state == DeliveryState.SENT.value)
        ).all()
        # Being sent right now, or maybe sent: no receipt to delete with, so a person checks.
        uncertain = session.execute(
            select(d.state, d.remote_url, CHANNELS.c.name)
            .join(CHANNELS, CHANNELS.c.id == d.channel_id)
            .where(
                d.submission_id == submission_id,
                d.state.in_([SENDING, DeliveryState.UNKNOWN.value]),
            )
            .order_by(d.id)
        ).all()
    deleted: list[str] = []
    kept: list[dict[str, Any]] = [
        {
            "channel": row.name,
            "url": row.remote_url,
            "reason": f"the post is {row.state}: it may be on the channel, check it",
        }
        for row in uncertain
    ]
    for row in sent:
        receipt = Receipt(
            remote_id=str(row.remote_id),
            url=row.remote_url,
            extra=dict((row.receipt or {}).get("extra") or {}),
        )
        try:
            removed = build(row.kind, dict(row.config or {}), settings).delete(receipt)
            reason = None if removed else "the platform does not allow deleting"
        except Exception as exc:  # noqa: BLE001 - report every channel, whatever one does
            removed, reason = False, _short(exc)
        with session_scope(engine) as session:
            if removed:
                session.execute(
                    update(DELIVERIES)
                    .where(d.id == row.id)
                    .values(
                        state=DeliveryState.CANCELLED.value,
                        last_error="post deleted",
                        updated_at=utcnow(),
                    )
                )
                deleted.append(row.name)
            else:
                kept.append({"channel": row.name, "url": row.remote_url, "reason": reason})
    summary: dict[str, Any] = {"cancelled": cancelled, "deleted": deleted, "kept": kept}
    with session_scope(engine) as session:
        audit.record(
            session, actor=actor, action="retract_posts", submission_id=submission_id, after=summary
        )
        if kept:
            story = session.get(Submission, submission_id)
            _alert(
                session,
                "posts_not_deleted",
                submission_id=submission_id,
                ref=story.ref if story else None,
                posts=kept,
            )
    return summary


# -- running ----------------------------------------------------------------------------------


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
