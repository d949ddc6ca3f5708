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

from sqlalchemy.engine import Engine

from core import notifications
from core.clock import format_local, utcnow
from core.config import Settings
from core.db import session_scope
from core.i18n import t
from core.states import Audience
from publishers import calendar, deliveries

logger = logging.getLogger(__name__)

#: At most this many posts are listed in one alert (the rest are counted).
LISTED = 20


def alert_late_posts(engine: Engine, settings: Settings, *, now: datetime | None = None) -> int:
    """Report posts unsent well past their time to the moderators' group; how many, newly."""
    if settings.late_post_alert_minutes <= 0:
        return 0
    now = now or utcnow()
    cutoff = now - timedelta(minutes=settings.late_post_alert_minutes)
    with session_scope(engine) as session:
        late = deliveries.mark_late(session, due_before=cutoff, now=now)
        if not late:
            return 0
        rows = calendar.rows_by_id(session, late[:LISTED], timezone=settings.timezone)
        posts: list[dict[str, Any]] = [_item(row, settings.timezone) for row in rows]
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


def _item(row: calendar.CalendarRow, timezone: str) -> dict[str, Any]:
    """What an alert says of one late post (no name, no place: references only)."""
    return {
        "ref": row.ref,
        "channel": row.channel,
        "due": format_local(datetime.fromisoformat(row.at_utc), timezone),
        "tries": row.attempts,
        "error": row.last_error,
        "paused": row.channel_paused,
    }


def _minutes(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
