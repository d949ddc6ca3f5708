"""The audit log: every action on a story is a row (who, when, what, before, after)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from core.models import AuditEvent


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    submission_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit row to the session (committed with the caller's transaction)."""
    event = AuditEvent(
        submission_id=submission_id,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        before=before,
        after=after,
    )
    session.add(event)
    return event


def history(session: Session, *, submission_id: int) -> list[AuditEvent]:
    """Every audit row of one story, oldest first."""
    statement = (
        select(AuditEvent)
        .where(AuditEvent.submission_id == submission_id)
        .order_by(col(AuditEvent.created_at), col(AuditEvent.id))
    )
    return list(session.exec(statement))
