"""Inline buttons whose callback data is an opaque token (`c:<token>`) kept in CallbackToken.

A keyboard's tokens share a prefix, so pressing one button can retire the whole keyboard.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from core.clock import utcnow
from core.db import session_scope
from core.models import CallbackToken, Submission
from core.states import SubmissionState

PREFIX = "c:"
_KEYBOARD_CHARS = 12


@dataclass(frozen=True)
class Button:
    """A button to draw: its label, what it does, and what it needs to do it."""

    label: str
    action: str
    payload: dict[str, Any] | None = None


@dataclass(frozen=True)
class Pressed:
    """A resolved button press."""

    token: str
    action: str
    payload: dict[str, Any]
    submission_id: int | None


def keyboard(
    engine: Engine,
    rows: list[list[Button]],
    *,
    submission_id: int | None = None,
) -> InlineKeyboardMarkup:
    """Store one token per button and return the keyboard carrying them."""
    prefix = secrets.token_hex(_KEYBOARD_CHARS // 2)
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
                        payload=button.payload or {},
                    )
                )
                drawn.append(InlineKeyboardButton(button.label, callback_data=PREFIX + token))
            markup.append(drawn)
    return InlineKeyboardMarkup(markup)


def resolve(engine: Engine, data: str | None) -> Pressed | None:
    """The live token behind callback data; None when unknown, used, or its story moved on.

    Resolving retires every button of the same keyboard (each keyboard is answered once).
    """
    if not data or not data.startswith(PREFIX):
        return None
    token = data.removeprefix(PREFIX)
    with session_scope(engine) as session:
        row = session.get(CallbackToken, token)
        if row is None or row.used_at is not None:
            return None
        if row.submission_id is not None:
            story = session.get(Submission, row.submission_id)
            if story is None or story.state != SubmissionState.DRAFT:
                return None
        session.execute(
            update(CallbackToken)
            .where(col(CallbackToken.token).startswith(token[:_KEYBOARD_CHARS]))
            .values(used_at=utcnow())
        )
        return Pressed(token, row.action, dict(row.payload), row.submission_id)
