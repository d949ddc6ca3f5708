"""Opaque callback tokens: a button carries only a random token; the meaning stays here."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col

from core.clock import utcnow
from core.models import CallbackToken

#: 16 random bytes → 22 URL-safe characters: unguessable, and with a short prefix well inside
#: Telegram's 64-byte `callback_data`.
TOKEN_BYTES = 16


def issue(
    session: Session,
    submission_id: int | None,
    action: str,
    payload: dict[str, Any] | None = None,
    version: int | None = None,
) -> str:
    """Store what a button means and return its token. Caller commits."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        CallbackToken(
            token=token,
            submission_id=submission_id,
            action=action,
            payload=payload or {},
            version=version,
        )
    )
    return token


def resolve(session: Session, token: str) -> CallbackToken | None:
    """The stored meaning of a token, or None for anything unknown (forged, purged, garbled)."""
    if not token or len(token) > 32:
        return None
    return session.get(CallbackToken, token)


def mark_used(session: Session, row: CallbackToken) -> None:
    """Remember when a button was last pressed. Caller commits."""
    row.used_at = utcnow()
    session.add(row)


def purge_older_than(session: Session, days: int = 90) -> int:
    """Delete tokens older than `days` (their cards are long decided); returns how many."""
    cutoff = utcnow() - timedelta(days=days)
    result = session.execute(delete(CallbackToken).where(col(CallbackToken.created_at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
