"""The daily reminder: quarantined stories and stories waiting too long for a moderator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import desc
from sqlmodel import Session, col, select

from core.clock import as_utc, utcnow
from core.models import AuditEvent, Submission
from core.states import SubmissionState

S = SubmissionState


@dataclass(frozen=True)
class ReminderRow:
    """One story in the reminder."""

    ref: str
    state: str
    waiting_since: datetime
    hours_waiting: int
    card_message_id: int | None = None  # the story's review card in the group, if posted


def reminder_rows(
    session: Session, *, hours: int, now: datetime | None = None
) -> list[ReminderRow]:
    """Quarantined stories, and stories in review or waiting for an answer longer than `hours`.

    Oldest first. The waiting time counts from when the story entered its state (edits such as
    a theme change do not reset it).
    """
    now = now or utcnow()
    cutoff = now - timedelta(hours=hours)
    statement = (
        select(Submission)
        .where(
            col(Submission.state).in_(
                [S.QUARANTINED.value, S.PENDING_REVIEW.value, S.NEEDS_INFO.value]
            )
        )
        .order_by(col(Submission.updated_at), col(Submission.id))
    )
    rows = []
    for story in session.exec(statement):
        since = _entered_state_at(session, story)
        if story.state != S.QUARANTINED.value and since > cutoff:
            continue
        waited = int((now - since).total_seconds() // 3600)
        rows.append(ReminderRow(story.ref, story.state, since, waited, story.card_message_id))
    rows.sort(key=lambda row: row.waiting_since)
    return rows


def _entered_state_at(session: Session, story: Submission) -> datetime:
    statement = (
        select(AuditEvent.created_at)
        .where(
            AuditEvent.submission_id == story.id,
            AuditEvent.to_state == story.state,
            col(AuditEvent.from_state) != story.state,
        )
        .order_by(desc(col(AuditEvent.created_at)))
        .limit(1)
    )
    entered = session.exec(statement).first()
    return as_utc(entered or story.updated_at)
