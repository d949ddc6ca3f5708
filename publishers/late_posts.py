"""Late posts: the campaign team hears when a post did not go out on time, and when it finally did.

A post still `pending` or `sending` `PESISIR_LATE_POST_ALERT_MINUTES` after its time is reported
to the moderators' group, once per post, whatever the cause: no worker running, a platform down
and retrying, a paused channel, rate limits. Posts of a paused campaign are not reported (a
person paused them on purpose). Marking and alerting happen in one transaction with a guarded
`UPDATE … RETURNING`, so the bot and any number of workers may all run the check: each late post
is reported once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import notifications
from core.clock import utcnow
from core.config import Settings
from core.db import session_scope
from core.i18n import t
from core.models import Campaign, Channel, Delivery, Submission
from core.states import Audience, DeliveryState
from publishers.calendar import format_local

logger = logging.getLogger(__name__)

DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]
CAMPAIGNS: Table = Campaign.__table__  # type: ignore[attr-defined]

#: Not yet out: waiting for its turn or a retry, or being sent right now.
UNSENT = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)
#: At most this many posts are listed in one alert (the rest are counted).
LISTED = 20


def alert_late_posts(engine: Engine, settings: Settings, *, now: datetime | None = None) -> int:
    """Report posts unsent well past their time to the moderators' group; how many, newly."""
    if settings.late_post_alert_minutes <= 0:
        return 0
    now = now or utcnow()
    cutoff = now - timedelta(minutes=settings.late_post_alert_minutes)
    d = DELIVERIES.c
    paused_campaigns = select(CAMPAIGNS.c.id).where(CAMPAIGNS.c.paused.is_(True))
    conditions = (
        d.state.in_(UNSENT),
        d.scheduled_at <= cutoff,
        d.late_alerted_at.is_(None),
        d.campaign_id.is_(None) | d.campaign_id.not_in(paused_campaigns),
    )
    with Session(engine) as session:  # a read first: most checks find nothing, and write nothing
        if session.execute(select(d.id).where(*conditions).limit(1)).first() is None:
            return 0
    with session_scope(engine) as session:
        statement = (
            update(DELIVERIES).where(*conditions).values(late_alerted_at=now).returning(d.id)
        )
        late = sorted(int(row_id) for row_id in session.execute(statement).scalars())
        if not late:
            return 0
        posts: list[dict[str, Any]] = [_item(session, settings, row) for row in late[:LISTED]]
        if len(late) > LISTED:
            posts.append({"more": len(late) - LISTED})
        notifications.enqueue(
            session,
            kind="posts_late",
            audience=Audience.MODERATORS,
            params={
                "count": len(late),
                "minutes": _minutes(settings.late_post_alert_minutes),
                "posts": posts,  # worded in the group's language when sent (`describe`)
            },
        )
    logger.warning("%d posts are late; the moderators' group is told", len(late))
    return len(late)


def alert_if_sent_late(
    session: Session, settings: Settings, delivery_id: int, now: datetime
) -> None:
    """In the transaction that records a post as sent: if it had been reported late, say it
    went out after all (so nobody posts it by hand)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.late_alerted_at is None:
        return
    story = session.get(Submission, delivery.submission_id)
    channel = session.get(Channel, delivery.channel_id)
    notifications.enqueue(
        session,
        kind="late_post_sent",
        audience=Audience.MODERATORS,
        submission_id=delivery.submission_id,
        params={
            "ref": story.ref if story else "?",
            "channel": channel.name if channel else "?",
            "due": format_local(delivery.scheduled_at, settings.timezone),
            "sent": format_local(now, settings.timezone),
        },
    )


def describe(lang: str, post: dict[str, Any]) -> str:
    """One line of a `posts_late` alert in `lang`: the post, when it was due, what holds it."""
    if "more" in post:
        return t(lang, "publishing.late.more", count=post["more"])
    if post.get("paused") is not None:
        why = t(lang, "publishing.late.paused", reason=post["paused"] or "-")
    elif not post.get("tries"):
        why = t(lang, "publishing.late.untried")
    else:
        why = t(
            lang, "publishing.late.retrying", tries=post["tries"], error=post.get("error") or "-"
        )
    return t(
        lang,
        "publishing.late.line",
        ref=post.get("ref", "?"),
        channel=post.get("channel", "?"),
        due=post.get("due", "?"),
        why=why,
    )


def _item(session: Session, settings: Settings, delivery_id: int) -> dict[str, Any]:
    """What an alert says of one late post (no name, no place: references only)."""
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    story = session.get(Submission, delivery.submission_id)
    channel = session.get(Channel, delivery.channel_id)
    paused = channel is not None and channel.paused
    return {
        "ref": story.ref if story else "?",
        "channel": channel.name if channel else "?",
        "due": format_local(delivery.scheduled_at, settings.timezone),
        "tries": delivery.attempts,
        "error": delivery.last_error,
        "paused": (channel.paused_reason or "") if paused and channel else None,
    }


def _minutes(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
