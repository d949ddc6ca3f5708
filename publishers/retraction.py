"""Withdrawal of a story's posts: pending and failed ones cancelled, published ones deleted where
the platform allows, leftovers of interrupted sends cleaned, the rest listed loudly for a person.

A post being sent at the moment of withdrawal cannot be stopped; the dispatcher takes it down
as soon as its send returns (`take_down_late`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine

from core import audit, notifications
from core.config import Settings
from core.db import session_scope
from core.models import Submission
from core.states import Audience, DeliveryState
from publishers import calendar, deliveries, registry
from publishers.base import Publisher, Receipt
from publishers.calendar import OutPost
from publishers.registry import PublisherFactory

logger = logging.getLogger(__name__)

D = DeliveryState
#: Every state a post of a withdrawn story can be in after its pending ones are cancelled.
AFTER_CANCEL = [D.SENT.value, D.SENDING.value, D.UNKNOWN.value, D.CANCELLED.value]


def retract_story(
    engine: Engine,
    settings: Settings,
    submission_id: int,
    *,
    actor: str = "system:withdrawal",
    publisher_factory: PublisherFactory | None = None,
) -> dict[str, Any]:
    """Cancel a story's pending and failed posts, delete its sent ones where the platform
    allows, and clean what interrupted sends left behind.

    Returns `{"cancelled": n, "deleted": [channel...], "sending": [channel...], "cleaned": n,
    "kept": [{channel, url, reason}]}`; audited. Posts that cannot be deleted, and posts of
    unknown outcome (they may be out), are listed for a person, loudly.
    """
    build = publisher_factory or registry.build_publisher
    with session_scope(engine) as session:
        cancelled = deliveries.cancel_pending(
            session, submission_id=submission_id, also_failed=True
        )
        posts = calendar.posts_out(session, submission_id, AFTER_CANCEL)
        story = session.get(Submission, submission_id)
        ref = story.ref if story is not None else ""
    kept: list[dict[str, Any]] = [
        {
            "channel": post.channel,
            "url": post.url,
            "reason": "the outcome of its send is unknown: it may be on the channel, check it",
        }
        for post in posts
        if post.state == D.UNKNOWN.value
    ]
    # Being sent right now: the dispatcher deletes it the moment the send returns.
    sending = [post.channel for post in posts if post.state == D.SENDING.value]
    deleted: list[str] = []
    cleaned = 0
    for post in posts:
        try:
            publisher = build(post.kind, post.config, settings)
            if post.state == D.SENT.value:
                reason = _delete(engine, publisher, post)
                if reason is None:
                    deleted.append(post.channel)
                else:
                    kept.append({"channel": post.channel, "url": post.url, "reason": reason})
            if post.idempotency_key:
                # Also while a send is under way: a leftover of a killed send looks the same,
                # and breaking a live send of a withdrawn story is no loss.
                cleaned += publisher.clean_up(post.idempotency_key, ref=ref)
        except Exception as exc:  # noqa: BLE001 - report every channel, whatever one does
            if post.state == D.SENT.value:
                reason = deliveries.short_error(exc)
                kept.append({"channel": post.channel, "url": post.url, "reason": reason})
            else:
                logger.warning("cleaning after %s failed: %s", post.channel, type(exc).__name__)
    summary: dict[str, Any] = {
        "cancelled": cancelled,
        "deleted": deleted,
        "sending": sending,
        "cleaned": cleaned,
        "kept": kept,
    }
    with session_scope(engine) as session:
        audit.record(
            session, actor=actor, action="retract_posts", submission_id=submission_id, after=summary
        )
        if kept:
            _alert(session, submission_id, kept)
    return summary


def _delete(engine: Engine, publisher: Publisher, post: OutPost) -> str | None:
    """Delete one sent post; None when it is gone, else why not."""
    receipt = Receipt(remote_id=str(post.remote_id), url=post.url, extra=post.receipt_extra)
    if not publisher.delete(receipt):
        return "the platform does not allow deleting"
    with session_scope(engine) as session:
        deliveries.mark_deleted(session, post.delivery_id)
    return None


def _alert(session: Any, submission_id: int, kept: Sequence[dict[str, Any]]) -> None:
    story = session.get(Submission, submission_id)
    notifications.enqueue(
        session,
        kind="posts_not_deleted",
        audience=Audience.MODERATORS,
        submission_id=submission_id,
        params={"ref": story.ref if story else None, "posts": list(kept)},
    )


def take_down_late(
    engine: Engine, publisher: Publisher, delivery_id: int, submission_id: int, *, actor: str
) -> bool:
    """A post that went out after its story was withdrawn (its send was under way): delete it
    now, or alert the moderators' group with its link. True when it was taken down."""
    with session_scope(engine) as session:
        sent = calendar.posts_out(session, submission_id, [D.SENT.value])
    post = next((p for p in sent if p.delivery_id == delivery_id), None)
    if post is None:
        return False
    try:
        reason = _delete(engine, publisher, post)
    except Exception as exc:  # noqa: BLE001 - whatever the platform did, a person must hear
        reason = deliveries.short_error(exc)
    with session_scope(engine) as session:
        if reason is None:
            audit.record(
                session,
                actor=actor,
                action="retract_posts",
                submission_id=submission_id,
                after={"deleted": [post.channel], "late": True},
            )
        else:
            _alert(
                session,
                submission_id,
                [{"channel": post.channel, "url": post.url, "reason": reason}],
            )
    return reason is None
