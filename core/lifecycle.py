"""The one function through which a story changes state: checked, audited, versioned."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session

from core import audit
from core.clock import utcnow
from core.errors import InvalidTransition, StaleVersion
from core.models import Submission
from core.states import SubmissionState, can_move


def transition(
    session: Session,
    submission: Submission,
    target: SubmissionState,
    *,
    actor: str,
    reason: str | None = None,
    expected_version: int | None = None,
    action: str | None = None,
) -> Submission:
    """Move `submission` to `target` if the lifecycle allows it and nobody changed it first.

    The version check is a compare-and-set in the database (`UPDATE ... WHERE version = v`), so
    two moderators pressing at once cannot both win: the loser gets `StaleVersion`, with
    `submission` refreshed to what the winner left and the session's transaction untouched.
    """
    assert submission.id is not None
    current = SubmissionState(submission.state)
    version = submission.version if expected_version is None else expected_version
    if not can_move(current, target):
        raise InvalidTransition(f"{submission.ref}: {current} → {target} is not allowed")
    now = utcnow()
    result = session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.version == version)  # type: ignore[arg-type]
        .values(state=target.value, version=version + 1, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        # Nothing was written, so the caller's transaction stays whole (a rollback here would
        # silently undo the caller's earlier work); the caller decides whether to retry.
        session.refresh(submission)
        raise StaleVersion(
            f"{submission.ref} was changed by someone else",
            current_version=submission.version,
        )
    audit.record(
        session,
        actor=actor,
        action=action or target.value,
        submission_id=submission.id,
        from_state=current.value,
        to_state=target.value,
        reason=reason,
    )
    session.flush()
    session.refresh(submission)
    return submission
