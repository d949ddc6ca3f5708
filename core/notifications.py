"""Notifications as rows: lower layers write what the bot owes people; the bot drains them."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from core.clock import utcnow
from core.models import Notification
from core.states import Audience, NotificationState


def enqueue(
    session: Session,
    *,
    kind: str,
    contributor_id: int | None = None,
    submission_id: int | None = None,
    audience: Audience = Audience.CONTRIBUTOR,
    params: dict[str, Any] | None = None,
) -> Notification:
    """Add a pending notification (message catalog key `notify.<kind>`) to the session."""
    notification = Notification(
        audience=audience.value,
        contributor_id=contributor_id,
        submission_id=submission_id,
        kind=kind,
        params=params or {},
        state=NotificationState.PENDING.value,
        next_attempt_at=utcnow(),
    )
    session.add(notification)
    return notification
