"""The moderators' group's periodic work, on the bot's JobQueue (APScheduler, core.periodic).

Every few seconds: a card for each story in review without one, stale cards redrawn (a CLI or
web decision, an answer, a withdrawal), and the notifications owed sent. Every day at
PESISIR_REVIEW_REMINDER_TIME local time: the reminder of stories waiting too long, and old
button tokens forgotten.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Bot
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from bot import buttons, notifier
from bot.moderation_handlers import ModerationDesk
from core.db import session_scope
from core.i18n import t
from core.periodic import JOB_KWARGS
from moderation import reminders

logger = logging.getLogger(__name__)

BotApp = Application[Any, Any, Any, Any, Any, Any]
#: Buttons older than this answer "no longer known" (their tokens are purged daily).
TOKEN_DAYS = 90


def card_link(chat_id: int | None, message_id: int | None) -> str | None:
    """A t.me link to a card in a supergroup (members only), or None."""
    if chat_id is None or message_id is None or not str(chat_id).startswith("-100"):
        return None
    return f"https://t.me/c/{str(chat_id)[4:]}/{message_id}"


async def round_once(desk: ModerationDesk, bot: Bot) -> None:
    """One round: new cards, stale cards, notifications owed."""
    if desk.chat_id is not None:
        for story_id in await asyncio.to_thread(desk.cards.needing_cards):
            try:
                await desk.cards.post(bot, story_id)
            except RetryAfter:
                raise  # the whole round waits; the next one tries again
            except TelegramError as error:
                logger.warning("could not post card #%s: %s", story_id, type(error).__name__)
        for story_id in await asyncio.to_thread(desk.cards.stale):
            try:
                await desk.cards.redraw(bot, story_id)
            except RetryAfter:
                raise
            except TelegramError as error:
                logger.warning("could not redraw card #%s: %s", story_id, type(error).__name__)
    await notifier.drain_once(bot, desk.engine, desk.settings)


def reminder_text(desk: ModerationDesk, now: datetime | None = None) -> str:
    """The daily summary of quarantined and long-waiting stories."""
    with session_scope(desk.engine) as session:
        rows = reminders.reminder_rows(session, hours=desk.settings.review_reminder_hours, now=now)
    lang = desk.lang
    if not rows:
        return t(lang, "moderation.reminder.none")
    lines = [t(lang, "moderation.reminder.header", count=len(rows))]
    for row in rows:
        line = t(
            lang,
            "moderation.reminder.line",
            ref=row.ref,
            state=t(lang, f"core.state.{row.state}"),
            hours=row.hours_waiting,
        )
        link = card_link(desk.chat_id, row.card_message_id)
        lines.append(f"{line} {link}" if link else line)
    return "\n".join(lines)


async def post_reminder(desk: ModerationDesk, bot: Bot) -> None:
    """Post the daily summary to the group."""
    if desk.chat_id is None:
        return
    text = await asyncio.to_thread(reminder_text, desk)
    await bot.send_message(desk.chat_id, text)


def reminder_time(timezone: str, clock: str) -> time:
    """PESISIR_REVIEW_REMINDER_TIME (`HH:MM`) as a time of day in PESISIR_TIMEZONE."""
    hour, minute = (int(part) for part in clock.split(":"))
    return time(hour, minute, tzinfo=ZoneInfo(timezone))


def register_jobs(application: BotApp, desk: ModerationDesk) -> None:
    """Schedule the rounds and the daily reminder on the bot's JobQueue."""
    queue = application.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is a dependency"

    async def round_job(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await round_once(desk, context.bot)
        except Exception:  # keep going; the next round retries
            logger.exception("moderation round failed")

    async def daily_job(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await post_reminder(desk, context.bot)
        except TelegramError:
            logger.warning("could not post the daily reminder")
        removed = await asyncio.to_thread(buttons.purge_older_than, desk.engine, TOKEN_DAYS)
        if removed:
            logger.info("forgot %d old button tokens", removed)

    seconds = desk.settings.moderation_poll_seconds
    queue.run_repeating(
        round_job,
        interval=seconds,
        first=seconds,
        name="moderation-round",
        job_kwargs=JOB_KWARGS,
    )
    if desk.chat_id is not None:
        settings = desk.settings
        queue.run_daily(
            daily_job,
            time=reminder_time(settings.timezone, settings.review_reminder_time),
            name="daily-reminder",
        )
