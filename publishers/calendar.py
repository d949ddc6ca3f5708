"""The calendar of posts (every delivery with its time, story, campaign, channel, state) and the
hand-checks a person does on deliveries that failed or whose outcome is unknown."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from core import audit
from core.clock import as_utc, utcnow
from core.errors import InvalidTransition, NotFound
from core.models import Campaign, Channel, Delivery, Submission
from core.states import DELIVERY_TRANSITIONS, DeliveryState
from publishers.scheduling import mark_published_if_done


@dataclass(frozen=True)
class CalendarRow:
    """One delivery as the campaign team sees it (local time, no private data)."""

    id: int
    at_local: str
    at_utc: str
    ref: str
    campaign: str | None
    channel: str
    state: str
    attempts: int
    url: str | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def format_local(moment: datetime, timezone: str) -> str:
    """An instant as the campaign team reads it: `2026-11-25 09:00 WITA`."""
    return as_utc(moment).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def parse_local_time(text: str, timezone: str) -> datetime:
    """`2026-11-25 09:00` in `timezone`, or an ISO time with its own offset; returned in UTC."""
    cleaned = text.strip().replace("T", " ")
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(
            f"time {text!r} not understood; write it like 2026-11-25 09:00 "
            "(local time) or 2026-11-25T09:00+08:00"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return as_utc(value)


def calendar(
    session: Session,
    *,
    timezone: str,
    status: str | None = None,
    campaign_slug: str | None = None,
    since: datetime | None = None,
) -> list[CalendarRow]:
    """Deliveries by time, optionally of one state or campaign, shown in `timezone`."""
    if status is not None and status not in {s.value for s in DeliveryState}:
        known = ", ".join(s.value for s in DeliveryState)
        raise ValueError(f"unknown status {status!r}; use one of {known}")
    statement = (
        select(Delivery, Submission.ref, Channel.name, Campaign.slug)
        .join(Submission, col(Submission.id) == Delivery.submission_id)
        .join(Channel, col(Channel.id) == Delivery.channel_id)
        .join(Campaign, col(Campaign.id) == Delivery.campaign_id, isouter=True)
        .order_by(col(Delivery.scheduled_at), col(Delivery.id))
    )
    if status is not None:
        statement = statement.where(Delivery.state == status)
    if campaign_slug is not None:
        statement = statement.where(Campaign.slug == campaign_slug)
    if since is not None:
        statement = statement.where(col(Delivery.scheduled_at) >= as_utc(since))
    tz = ZoneInfo(timezone)
    rows = []
    for delivery, ref, channel, campaign in session.exec(statement):
        at = as_utc(delivery.scheduled_at)
        rows.append(
            CalendarRow(
                id=delivery.id or 0,
                at_local=at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M"),
                at_utc=at.isoformat(),
                ref=ref,
                campaign=campaign,
                channel=channel,
                state=delivery.state,
                attempts=delivery.attempts,
                url=delivery.remote_url,
                last_error=delivery.last_error,
            )
        )
    return rows


def resolve(
    session: Session,
    delivery_id: int,
    target: DeliveryState,
    *,
    actor: str,
    url: str | None = None,
) -> Delivery:
    """A person's decision on a delivery: retry (→ pending), sent (with its url), or cancel.

    Used for `unknown` posts (a person looked at the channel) and `failed` ones (fixed and
    retried); never for a post a worker is sending. Audited on the story.
    """
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery #{delivery_id}")
    current = DeliveryState(delivery.state)
    if current == DeliveryState.SENDING:
        # A worker holds it: moving it by hand could send it twice. If that worker died, the
        # lease sweeper makes it `unknown` when its lease ends; then decide.
        raise InvalidTransition(
            f"delivery #{delivery_id} is being sent by {delivery.claimed_by}; wait until it is "
            "sent, or unknown after its lease ends"
        )
    if target not in DELIVERY_TRANSITIONS[current]:
        raise InvalidTransition(f"delivery #{delivery_id} is {current}; cannot become {target}")
    now = utcnow()
    delivery.state = target.value
    delivery.updated_at = now
    delivery.lease_until = None
    if target == DeliveryState.PENDING:
        delivery.next_attempt_at = now
        delivery.attempts = 0
    if target == DeliveryState.SENT:
        delivery.sent_at = now
        delivery.remote_url = url
        delivery.remote_id = delivery.remote_id or url or f"manual-{delivery_id}"
    session.add(delivery)
    audit.record(
        session,
        actor=actor,
        action=f"delivery_{target.value}",
        submission_id=delivery.submission_id,
        before={"delivery": delivery_id, "state": current.value},
        after={"delivery": delivery_id, "state": target.value, "url": url},
    )
    session.flush()
    if target in (DeliveryState.SENT, DeliveryState.CANCELLED):
        mark_published_if_done(session, delivery.submission_id, actor=actor)
    return delivery
