"""Sending posts: claims with leases, the outcome of each send, expired leases, late posts.

Outcomes are written only while the row is still the claim's (same worker, same attempt): a
worker whose post the sweeper took, or a second worker, changes nothing. Alerts to the
moderators' group are written in the same transaction as the state they report.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core import notifications
from core.clock import as_utc, format_local, utcnow
from core.db import claim_rows, session_scope
from core.delivery_table import Delivery
from core.models import Campaign, Channel, Submission
from core.states import Audience, DeliveryState
from publishers import registry
from publishers.base import Receipt, RetryableError
from publishers.deliveries.transitions import DELIVERIES, change

logger = logging.getLogger(__name__)

D = DeliveryState
CHANNELS: Table = Channel.__table__  # type: ignore[attr-defined]
CAMPAIGNS: Table = Campaign.__table__  # type: ignore[attr-defined]

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
#: Error text kept on the row and in alerts (platform messages can be long).
ERROR_CHARS = 300
WINDOW_PASSED = "an earlier send may have gone out and the platform's idempotency window has passed"
LEASE_EXPIRED = "lease expired: the worker stopped mid-send"


@dataclass(frozen=True)
class Claim:
    """A delivery a worker holds: what sending it needs, and what identifies the claim."""

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
    worker_id: str
    attempts: int  # this claim's attempt number: a later claim of the same row has another
    uncertain_since: datetime | None  # a send may have gone out unconfirmed since then
    held: bool  # its channel or campaign was paused after the claim: give it back unsent
    caption: str | None = None  # the campaign team's own caption for this post


# -- claiming ---------------------------------------------------------------------------------


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
        .where(d.state == D.PENDING.value, d.next_attempt_at <= now, d.channel_id.in_(channel_ids))
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    )
    if blocked_campaigns:
        due = due.where(or_(d.campaign_id.is_(None), d.campaign_id.not_in(blocked_campaigns)))
    values = {
        "state": D.SENDING.value,
        "claimed_by": worker_id,
        "claimed_at": now,
        "lease_until": now + timedelta(seconds=lease_seconds),
        "attempts": d.attempts + 1,
        "updated_at": now,
    }
    return claim_rows(connection, DELIVERIES, due, still=d.state == D.PENDING.value, values=values)


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
    with session_scope(engine) as session:
        connection = session.connection()
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
            if connection.dialect.name == "postgresql":
                # Serialise budget checks between workers: lock the rate-limited channel rows
                # until this transaction commits its claims.
                connection.execute(
                    select(c.id).where(c.id.in_(list(limited))).order_by(c.id).with_for_update()
                )
            used: dict[int, int] = dict(
                connection.execute(  # type: ignore[arg-type]
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


def load_claim(session: Session, delivery_id: int, worker_id: str) -> Claim | None:
    """The claim this worker holds on a delivery, or None when the row is not (or no longer) its."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.claimed_by != worker_id or delivery.state != D.SENDING:
        return None
    story = session.get(Submission, delivery.submission_id)
    channel = session.get(Channel, delivery.channel_id)
    campaign = session.get(Campaign, delivery.campaign_id) if delivery.campaign_id else None
    assert story is not None and channel is not None and channel.id is not None
    return Claim(
        delivery_id=delivery_id,
        submission_id=delivery.submission_id,
        ref=story.ref,
        channel_id=channel.id,
        channel_name=channel.name,
        kind=channel.kind,
        config=dict(channel.config or {}),
        campaign=campaign.slug if campaign else None,
        hashtags=tuple(campaign.hashtags) if campaign else (),
        idempotency_key=delivery.idempotency_key or f"delivery-{delivery_id}",
        worker_id=worker_id,
        attempts=delivery.attempts,
        uncertain_since=delivery.uncertain_since,
        held=bool(channel.paused or (campaign is not None and campaign.paused)),
        caption=delivery.caption_override,
    )


def renew_lease(engine: Engine, claim: Claim, until: datetime, waiting: Sequence[int] = ()) -> bool:
    """Extend this claim just before sending; False when the row is no longer ours.

    The rest of the batch (`waiting`) is extended too: a batch of slow sends must not have its
    later posts swept to `unknown` (and alerted) before they were even tried.
    """
    d = DELIVERIES.c
    with session_scope(engine) as session:
        result = session.execute(
            update(DELIVERIES).where(*_ours(claim)).values(lease_until=until).returning(d.id)
        )
        renewed = result.first() is not None
        if waiting:
            session.execute(
                update(DELIVERIES)
                .where(
                    d.id.in_(list(waiting)),
                    d.claimed_by == claim.worker_id,
                    d.state == D.SENDING.value,
                )
                .values(lease_until=until)
            )
    return renewed


class DeliveryCheckpoint:
    """A publish's progress on the platform (containers, unpublished photos), kept in its
    delivery's `receipt` column as `{"progress": ...}` until the real receipt replaces it.

    Written only while the claim is this worker's: a worker whose post was taken from it
    (the sweeper, after its lease ran out) gets a `RetryableError` and stops."""

    def __init__(self, engine: Engine, claim: Claim) -> None:
        self.engine = engine
        self.claim = claim

    def load(self) -> dict[str, Any]:
        """What earlier attempts of this delivery saved."""
        with session_scope(self.engine) as session:
            receipt = session.execute(
                select(DELIVERIES.c.receipt).where(DELIVERIES.c.id == self.claim.delivery_id)
            ).scalar()
        progress = receipt.get("progress") if isinstance(receipt, dict) else None
        return dict(progress) if isinstance(progress, dict) else {}

    def save(self, state: Mapping[str, Any]) -> None:
        """Keep `state` on the row, if the row is still ours and sending."""
        with session_scope(self.engine) as session:
            saved = session.execute(
                update(DELIVERIES)
                .where(*_ours(self.claim), DELIVERIES.c.state == D.SENDING.value)
                .values(receipt={"progress": dict(state)})
                .returning(DELIVERIES.c.id)
            ).first()
        if saved is None:
            raise RetryableError(f"delivery {self.claim.delivery_id} is no longer this worker's")


# -- safety and backoff -----------------------------------------------------------------------


def resend_is_safe(
    kind: str, *, since: datetime | None = None, now: datetime | None = None
) -> bool:
    """True when sending a post again with the same key cannot make a second post on this kind
    of channel: its class's `resend_safe_seconds` after the first uncertain send (`since`)."""
    try:
        window = registry.publisher_class(kind).resend_safe_seconds
    except KeyError:
        return False
    if window <= 0:
        return False
    if math.isinf(window) or since is None:
        return True
    return (as_utc(now or utcnow()) - as_utc(since)).total_seconds() < window


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


def short_error(error: BaseException | str) -> str:
    """An error as kept on the row and in alerts: its type and message, cut to ERROR_CHARS."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


# -- outcomes ---------------------------------------------------------------------------------


def _ours(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    d = DELIVERIES.c
    return (
        d.id == claim.delivery_id,
        d.claimed_by == claim.worker_id,
        d.attempts == claim.attempts,
    )


def _finish(
    session: Session,
    claim: Claim,
    target: DeliveryState,
    *,
    also_from: tuple[DeliveryState, ...] = (),
    **values: Any,
) -> bool:
    """Move this claim's row to `target` if it is still ours and sending (or `also_from`)."""
    states = [state.value for state in (D.SENDING, *also_from)]
    moved = change(
        session,
        target,
        *_ours(claim),
        DELIVERIES.c.state.in_(states),
        lease_until=None,
        **values,
    )
    if not moved:
        logger.warning("delivery %d was taken from worker %s", claim.delivery_id, claim.worker_id)
    return bool(moved)


def _alert(session: Session, kind: str, submission_id: int, **params: Any) -> None:
    """Tell the moderators' group, in the transaction of the state it reports."""
    notifications.enqueue(
        session,
        kind=kind,
        audience=Audience.MODERATORS,
        submission_id=submission_id,
        params=params,
    )


def _claim_alert(session: Session, kind: str, claim: Claim, error: str | None) -> None:
    _alert(
        session,
        kind,
        claim.submission_id,
        ref=claim.ref,
        channel=claim.channel_name,
        campaign=claim.campaign,
        error=error,
    )


def record_sent(
    session: Session, claim: Claim, receipt: Receipt, now: datetime, *, timezone: str
) -> bool:
    """Sent: the receipt is kept (also after the sweeper gave up on a slow send that did
    finish: the receipt is the truth). A post reported late gets a 'sent after all' notice."""
    done = _finish(
        session,
        claim,
        D.SENT,
        also_from=(D.UNKNOWN,),
        remote_id=receipt.remote_id,
        remote_url=receipt.url,
        receipt={"remote_id": receipt.remote_id, "url": receipt.url, "extra": receipt.extra},
        sent_at=now,
        last_error=None,
        updated_at=now,
    )
    delivery = session.get(Delivery, claim.delivery_id)
    if done and delivery is not None and delivery.late_alerted_at is not None:
        _alert(
            session,
            "late_post_sent",
            claim.submission_id,
            ref=claim.ref,
            channel=claim.channel_name,
            due=format_local(delivery.scheduled_at, timezone),
            sent=format_local(now, timezone),
        )
    return done


def record_failed(
    session: Session, claim: Claim, error: BaseException | str, now: datetime
) -> bool:
    """Failed for good: a person must look; the moderators' group hears of it."""
    message = short_error(error)
    done = _finish(session, claim, D.FAILED, last_error=message, updated_at=now)
    if done:
        _claim_alert(session, "delivery_failed", claim, message)
        logger.warning(
            "delivery %d to %s failed: %s", claim.delivery_id, claim.channel_name, message
        )
    return done


def record_retry(session: Session, claim: Claim, error: RetryableError, now: datetime) -> D:
    """Back to pending after a backoff, or failed when the attempts ran out; the state written."""
    if claim.attempts >= MAX_ATTEMPTS:
        record_failed(session, claim, error, now)
        return D.FAILED
    delay = backoff_seconds(claim.attempts, error.retry_after)
    # From the first answer that may hide a made post, the platform's idempotency window runs.
    since = claim.uncertain_since or (now if error.maybe_sent else None)
    _finish(
        session,
        claim,
        D.PENDING,
        next_attempt_at=now + timedelta(seconds=delay),
        last_error=short_error(error),
        uncertain_since=since,
        updated_at=now,
    )
    logger.info("delivery %d: retry in %.0f s (%s)", claim.delivery_id, delay, type(error).__name__)
    return D.PENDING


def record_auth(session: Session, claim: Claim, error: BaseException, now: datetime) -> bool:
    """Credentials refused: the post failed and its channel is paused until a person fixes it."""
    message = short_error(error)
    done = _finish(session, claim, D.FAILED, last_error=message, updated_at=now)
    if done:
        session.execute(
            update(CHANNELS)
            .where(CHANNELS.c.id == claim.channel_id)
            .values(paused=True, paused_reason=f"auth: {message}")
        )
        _claim_alert(session, "channel_paused", claim, message)
        logger.error("channel %s paused: %s", claim.channel_name, message)
    return done


def record_unknown(session: Session, claim: Claim, error: BaseException | str, now: datetime) -> D:
    """Maybe it went out: resend only where that is safe (and only MAX_ATTEMPTS times), else
    `unknown` for a person to check; the state written."""
    message = short_error(error)
    since = claim.uncertain_since or now
    if claim.attempts < MAX_ATTEMPTS and resend_is_safe(claim.kind, since=since, now=now):
        _finish(
            session,
            claim,
            D.PENDING,
            next_attempt_at=now + timedelta(seconds=backoff_seconds(claim.attempts)),
            last_error=message,
            uncertain_since=since,
            updated_at=now,
        )
        logger.error("delivery %d: outcome unknown, resent later (%s)", claim.delivery_id, message)
        return D.PENDING
    if _finish(session, claim, D.UNKNOWN, last_error=message, updated_at=now):
        _claim_alert(session, "delivery_unknown", claim, message)
    logger.error("delivery %d: outcome unknown (%s)", claim.delivery_id, message)
    return D.UNKNOWN


def release(session: Session, claim: Claim, now: datetime) -> bool:
    """Give a claimed post back unsent (its channel or campaign was paused meanwhile)."""
    return _finish(session, claim, D.PENDING, attempts=DELIVERIES.c.attempts - 1, updated_at=now)


def cancel_claimed(session: Session, claim: Claim, reason: str, now: datetime) -> bool:
    """Cancel a claimed post before sending it (its story was withdrawn, or consent forbids)."""
    return _finish(session, claim, D.CANCELLED, last_error=reason, updated_at=now)


# -- housekeeping -----------------------------------------------------------------------------


def expire_leases(engine: Engine, now: datetime | None = None) -> dict[str, int]:
    """Sweep `sending` rows whose lease ran out: `unknown` + alert, or `pending` if resend-safe."""
    now = as_utc(now or utcnow())
    d, c = DELIVERIES.c, CHANNELS.c
    counts = {"unknown": 0, "pending": 0}
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                d.id,
                d.submission_id,
                d.attempts,
                d.claimed_at,
                d.uncertain_since,
                c.kind,
                c.name,
            )
            .join(CHANNELS, c.id == d.channel_id)
            .where(d.state == D.SENDING.value, d.lease_until < now)
        ).all()
        for row in rows:
            # A worker that dies on the same post every time must not loop it forever.
            since = row.uncertain_since or row.claimed_at
            safe = row.attempts < MAX_ATTEMPTS and resend_is_safe(row.kind, since=since, now=now)
            target = D.PENDING if safe else D.UNKNOWN
            values: dict[str, Any] = {
                "lease_until": None,
                "last_error": LEASE_EXPIRED,
                "updated_at": now,
            }
            if safe:
                values |= {"next_attempt_at": now, "uncertain_since": since}
            moved = change(
                session,
                target,
                d.id == row.id,
                d.state == D.SENDING.value,
                d.lease_until < now,
                **values,
            )
            if not moved:
                continue
            counts[target.value] += 1
            if not safe:
                story = session.get(Submission, row.submission_id)
                ref = story.ref if story else None
                _alert(
                    session,
                    "delivery_unknown",
                    row.submission_id,
                    ref=ref,
                    channel=row.name,
                    error=LEASE_EXPIRED,
                )
    if counts["unknown"] or counts["pending"]:
        logger.warning(
            "leases expired: %d unknown, %d back to pending", counts["unknown"], counts["pending"]
        )
    return counts


def mark_late(session: Session, *, due_before: datetime, now: datetime) -> list[int]:
    """Mark the unsent posts due before `due_before` and not yet reported (nor of a paused
    campaign) as reported late; their ids. A guarded UPDATE: each is marked once."""
    d = DELIVERIES.c
    paused_campaigns = select(CAMPAIGNS.c.id).where(CAMPAIGNS.c.paused.is_(True))
    conditions = (
        d.state.in_([D.PENDING.value, D.SENDING.value]),
        d.scheduled_at <= due_before,
        d.late_alerted_at.is_(None),
        d.campaign_id.is_(None) | d.campaign_id.not_in(paused_campaigns),
    )
    # A read first: most checks find nothing, and then write nothing.
    if session.execute(select(d.id).where(*conditions).limit(1)).first() is None:
        return []
    statement = update(DELIVERIES).where(*conditions).values(late_alerted_at=now).returning(d.id)
    return sorted(int(row_id) for row_id in session.execute(statement).scalars())
