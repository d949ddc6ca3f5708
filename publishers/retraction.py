"""Withdrawal of a story's posts: pending ones cancelled, published ones deleted where the
platform allows, the rest listed loudly for a person."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from core import audit, notifications
from core.config import Settings
from core.db import session_scope
from core.models import Submission
from core.states import Audience, DeliveryState
from publishers import calendar, deliveries, registry
from publishers.base import Receipt
from publishers.registry import PublisherFactory


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
    build = publisher_factory or registry.build_publisher
    with session_scope(engine) as session:
        cancelled = deliveries.cancel_pending(session, submission_id=submission_id)
        out = calendar.posts_out(session, submission_id)
    sent = [post for post in out if post.state == DeliveryState.SENT.value]
    # Being sent right now, or maybe sent: no receipt to delete with, so a person checks.
    kept: list[dict[str, Any]] = [
        {
            "channel": post.channel,
            "url": post.url,
            "reason": f"the post is {post.state}: it may be on the channel, check it",
        }
        for post in out
        if post.state != DeliveryState.SENT.value
    ]
    deleted: list[str] = []
    for post in sent:
        receipt = Receipt(remote_id=str(post.remote_id), url=post.url, extra=post.receipt_extra)
        try:
            removed = build(post.kind, post.config, settings).delete(receipt)
            reason = None if removed else "the platform does not allow deleting"
        except Exception as exc:  # noqa: BLE001 - report every channel, whatever one does
            removed, reason = False, deliveries.short_error(exc)
        if removed:
            with session_scope(engine) as session:
                deliveries.mark_deleted(session, post.delivery_id)
            deleted.append(post.channel)
        else:
            kept.append({"channel": post.channel, "url": post.url, "reason": reason})
    summary: dict[str, Any] = {"cancelled": cancelled, "deleted": deleted, "kept": kept}
    with session_scope(engine) as session:
        audit.record(
            session, actor=actor, action="retract_posts", submission_id=submission_id, after=summary
        )
        if kept:
            story = session.get(Submission, submission_id)
            notifications.enqueue(
                session,
                kind="posts_not_deleted",
                audience=Audience.MODERATORS,
                submission_id=submission_id,
                params={"ref": story.ref if story else None, "posts": kept},
            )
    return summary
