"""Inline buttons whose callback data is an opaque token: one system for the contributor's chat
(`c:`) and the moderators' group (`m:`).

A keyboard's tokens share a random prefix and end in the button's index. What a button means
(its action, payload, story and the story version it was drawn for) stays in `CallbackToken`,
so callback data carries nothing a person could forge into meaning, and a restart keeps every
button working.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlmodel import col
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.clock import utcnow
from core.db import session_scope
from core.models import CallbackToken

CONTRIBUTOR = "c:"
MODERATOR = "m:"
#: A keyboard's random prefix: 12 bytes, 16 URL-safe characters (unguessable, and with the
#: scope and the index well inside Telegram's 64-byte `callback_data`).
_PREFIX_BYTES = 12
_PREFIX_CHARS = 16
_TOKEN_CHARS = 32  # the column's width: anything longer was never ours


@dataclass(frozen=True)
class Button:
    """A button to draw: its label, what it does, and what it needs to do it."""

    label: str
    action: str
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pressed:
    """A pressed button's stored meaning."""

    token: str
    action: str
    payload: dict[str, Any]
    submission_id: int | None
    version: int | None  # the story version the button was drawn for


def keyboard(
    engine: Engine,
    rows: list[list[Button]],
    *,
    scope: str,
    submission_id: int | None = None,
    version: int | None = None,
) -> InlineKeyboardMarkup:
    """Store one token per button (sharing a keyboard prefix) and return the keyboard."""
    prefix = secrets.token_urlsafe(_PREFIX_BYTES)[:_PREFIX_CHARS]
    markup: list[list[InlineKeyboardButton]] = []
    with session_scope(engine) as session:
        index = 0
        for row in rows:
            drawn = []
            for button in row:
                token = f"{prefix}{index:02d}"
                index += 1
                session.add(
                    CallbackToken(
                        token=token,
                        submission_id=submission_id,
                        action=button.action,
                        payload=dict(button.payload),
                        version=version,
                    )
                )
                drawn.append(InlineKeyboardButton(button.label, callback_data=scope + token))
            markup.append(drawn)
    return InlineKeyboardMarkup(markup)


def press(engine: Engine, data: str | None, *, scope: str, once: bool) -> Pressed | None:
    """The stored meaning of pressed callback data of this `scope`; None for anything unknown.

    With `once`, a keyboard answers one press: pressing retires all of its buttons, and a
    retired button means nothing. Otherwise buttons stay (the story version guards them).
    """
    if not data or not data.startswith(scope):
        return None
    token = data.removeprefix(scope)
    if not token or len(token) > _TOKEN_CHARS:
        return None
    with session_scope(engine) as session:
        row = session.get(CallbackToken, token)
        if row is None or (once and row.used_at is not None):
            return None
        retire = (
            col(CallbackToken.token).startswith(token[:_PREFIX_CHARS], autoescape=True)
            if once
            else col(CallbackToken.token) == token
        )
        session.execute(update(CallbackToken).where(retire).values(used_at=utcnow()))
        return Pressed(token, row.action, dict(row.payload), row.submission_id, row.version)


def purge_older_than(engine: Engine, days: int = 90) -> int:
    """Forget tokens older than `days` (their cards are long decided); how many."""
    cutoff = utcnow() - timedelta(days=days)
    with session_scope(engine) as session:
        result = session.execute(
            delete(CallbackToken).where(col(CallbackToken.created_at) < cutoff)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
