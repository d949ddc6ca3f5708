"""The notification sender: drains the outbox lower layers write, in the reader's language.

A row's text is the catalog message `notify.<kind>` filled with its params, rendered at send
time in the contributor's current language (moderators' rows in PESISIR_DEFAULT_LANGUAGE).
Delivery retries with capped exponential backoff; 403 (the contributor blocked the bot) marks
the contributor and the row `blocked`, never retried; Telegram's `retry_after` is obeyed.
Rows are claimed atomically, so several bot processes may drain the same outbox.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, text
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from core.clock import utcnow
from core.config import Settings
from core.db import claim_rows, session_scope
from core.i18n import catalog, normalize_language, t
from core.models import PENDING_NOTIFICATION, Contributor, Notification
from core.states import Audience, NotificationState
from publishers.late_posts import describe

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 3600.0
BATCH = 50
#: How long a claimed row is this process's to send before another may take it.
LEASE_SECONDS = 120.0

NOTIFICATIONS: Table = Notification.__table__  # type: ignore[attr-defined]


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failure: 10 s, 20 s, 40 s, ... capped at 1 h."""
    return timedelta(
        seconds=min(BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    )


def _line(item: Any) -> str:
    """One list item of a message: a link, or a post as `channel: url (why)`."""
    if isinstance(item, dict):
        reason = f" ({item['reason']})" if item.get("reason") else ""
        return f"{item.get('channel', '?')}: {item.get('url') or '-'}{reason}"
    return str(item)


def render(kind: str, params: dict[str, Any], lang: str) -> str:
    """The text of a notification in `lang`."""
    values = dict(params)
    if kind == "rejected":
        code = str(values.get("reason") or "other")
        note = values.get("note") or ""
        try:
            values["reason"] = t(lang, f"notify.reason.{code}", note=note)
        except KeyError:
            values["reason"] = note or code
        if code == "other" and not note:
            values["reason"] = t(lang, "notify.reason.cannot_verify")
    if kind == "posts_late":
        values["posts"] = "\n".join(describe(lang, post) for post in values.get("posts", []))
    for name, value in values.items():
        if isinstance(value, list):  # links, posts: one per line
            values[name] = "\n".join(_line(item) for item in value)
    # Contributor messages live in `notify.*`; publishing alerts in `publishing.notify.*`.
    key = f"notify.{kind}"
    if key not in catalog(normalize_language(lang)):
        key = f"publishing.notify.{kind}"
    return t(lang, key, **values)


@dataclass(frozen=True)
class _Job:
    id: int
    chat_id: int | None
    text: str
    contributor_id: int | None


def due_query(now: datetime) -> Select[Any]:
    """The ids of notifications due now. The pending rows are a handful among every one ever
    sent: the query says what the partial index says (core.models), so only those are read."""
    n = NOTIFICATIONS.c
    return (
        select(n.id)
        .where(text(PENDING_NOTIFICATION), n.next_attempt_at <= now)
        .order_by(n.next_attempt_at, n.id)
        .limit(BATCH)
    )


def _claim_ids(engine: Engine, now: datetime) -> list[int]:
    """Take the due rows for this process: one atomic `UPDATE … RETURNING` that moves their next
    attempt a lease ahead, so another bot process (webhook replicas) skips them. A process that
    dies mid-send leaves them due again when the lease ends: told twice rather than never."""
    n = NOTIFICATIONS.c
    due = due_query(now)
    lease = {"next_attempt_at": now + timedelta(seconds=LEASE_SECONDS)}
    with session_scope(engine) as session:
        return claim_rows(
            session.connection(),
            NOTIFICATIONS,
            due,
            still=n.state == NotificationState.PENDING.value,
            values=lease,
        )


def _claim_due(engine: Engine, settings: Settings, now: datetime) -> list[_Job]:
    """Claim due pending rows; their destination and rendered text (rows that cannot go, fail)."""
    jobs: list[_Job] = []
    ids = _claim_ids(engine, now)
    if not ids:
        return jobs
    with session_scope(engine) as session:
        statement = (
            select(Notification).where(col(Notification.id).in_(ids)).order_by(col(Notification.id))
        )
        for row in session.exec(statement):
            assert row.id is not None
            chat_id: int | None
            lang: str
            if row.audience == Audience.MODERATORS.value:
                chat_id = settings.moderator_chat_id
                lang = settings.default_language
            else:
                person = (
                    None
                    if row.contributor_id is None
                    else session.get(Contributor, row.contributor_id)
                )
                chat_id = None if person is None else person.telegram_chat_id
                lang = settings.default_language if person is None else person.language
                if person is not None and person.bot_blocked_at is not None:
                    row.state = NotificationState.BLOCKED.value
                    row.last_error = "contributor blocked the bot"
                    session.add(row)
                    continue
            if chat_id is None:
                row.state = NotificationState.FAILED.value
                row.last_error = "no chat to send to"
                session.add(row)
                continue
            try:
                text = render(row.kind, row.params, lang)
            except (KeyError, IndexError, ValueError) as error:
                row.state = NotificationState.FAILED.value
                row.last_error = f"cannot render: {type(error).__name__}"
                session.add(row)
                continue
            jobs.append(_Job(row.id, chat_id, text, row.contributor_id))
    return jobs


def _finish(
    engine: Engine,
    job: _Job,
    *,
    state: NotificationState | None,
    error: str | None = None,
    retry_at: datetime | None = None,
    count_attempt: bool = True,
    blocked: bool = False,
) -> None:
    with session_scope(engine) as session:
        row = session.get(Notification, job.id)
        if row is None:
            return
        now = utcnow()
        if count_attempt:
            row.attempts += 1
        row.last_error = error
        if state is NotificationState.SENT:
            row.state = state.value
            row.sent_at = now
        elif state is not None:
            row.state = state.value
        elif count_attempt and row.attempts >= MAX_ATTEMPTS:
            row.state = NotificationState.FAILED.value  # gave up
        else:  # retry later
            row.next_attempt_at = retry_at or now + backoff(row.attempts)
        session.add(row)
        if blocked and job.contributor_id is not None:
            person = session.get(Contributor, job.contributor_id)
            if person is not None and person.bot_blocked_at is None:
                person.bot_blocked_at = now
                session.add(person)


async def drain_once(bot: Bot, engine: Engine, settings: Settings) -> int:
    """Send every due notification once; returns how many were sent."""
    jobs = await asyncio.to_thread(_claim_due, engine, settings, utcnow())
    sent = 0
    for index, job in enumerate(jobs):
        assert job.chat_id is not None
        try:
            await bot.send_message(chat_id=job.chat_id, text=job.text)
        except Forbidden:
            logger.info("notification %s: the contributor blocked the bot", job.id)
            await asyncio.to_thread(
                _finish,
                engine,
                job,
                state=NotificationState.BLOCKED,
                error="forbidden (403)",
                blocked=True,
            )
        except RetryAfter as error:
            delay = error.retry_after
            seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
            logger.warning("notification %s: rate limited for %.0f s", job.id, seconds)
            # The whole bot is rate limited: this and the rest of the batch wait until Telegram
            # allows sending again (not until their lease ends).
            for waiting in jobs[index:]:
                await asyncio.to_thread(
                    _finish,
                    engine,
                    waiting,
                    state=None,
                    error="rate limited (429)" if waiting is job else None,
                    retry_at=utcnow() + timedelta(seconds=seconds),
                    count_attempt=False,
                )
            break
        except BadRequest as error:
            logger.warning("notification %s refused by Telegram: %s", job.id, error.message)
            await asyncio.to_thread(
                _finish, engine, job, state=NotificationState.FAILED, error=error.message
            )
        except TelegramError as error:  # network, timeouts, 5xx: try again later
            logger.warning("notification %s not sent yet: %s", job.id, type(error).__name__)
            await asyncio.to_thread(_finish, engine, job, state=None, error=type(error).__name__)
        else:
            sent += 1
            await asyncio.to_thread(_finish, engine, job, state=NotificationState.SENT)
    return sent
