"""`/masuk` (`/login`): a moderator asks the bot, in a private chat, for a one-time link to the
web dashboard. Who may ask is decided exactly as for the moderators' group: the moderation
desk's `may_act` (PESISIR_MODERATOR_IDS and the group's admins). The link comes from
`moderation.access` (only its hash is stored; it works once, for ten minutes, by a POST)."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.engine import Engine
from telegram import LinkPreviewOptions, Update
from telegram.ext import ApplicationHandlerStop, CommandHandler, ContextTypes

from bot.contributor_messages import PRIVATE
from bot.conversation import BotApp, language_hint
from bot.moderators import DESK_KEY
from bot.services import BotServices, services
from core.config import Settings
from core.db import session_scope
from core.errors import NotAllowed
from core.i18n import t
from moderation import access, permissions

logger = logging.getLogger(__name__)


def issue(engine: Engine, settings: Settings, telegram_user_id: int, name: str) -> tuple[str, str]:
    """A login URL for this Telegram moderator, and their role (blocking: run in a thread)."""
    with session_scope(engine) as session:
        person = access.person_for_telegram(session, telegram_user_id, name)
        token = access.issue_link(session, person.id, issued_by=f"telegram:{name}")
    return access.login_url(settings, token), person.role.value


def _refuse(engine: Engine, name: str) -> None:
    with session_scope(engine) as session:
        permissions.record_refusal(session, actor=f"telegram:{name}", attempted="/masuk")


async def cmd_masuk(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a moderator a one-time login link; anyone else is told kindly (and audited)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    shared = services(context.application)
    lang = language_hint(user.language_code)
    desk = context.application.bot_data.get(DESK_KEY)
    if desk is not None:
        allowed = await desk.may_act(context.bot, user.id)
    else:
        allowed = permissions.is_moderator(shared.settings, user.id)
    if not allowed:
        await asyncio.to_thread(_refuse, shared.engine, user.full_name)
        await message.reply_text(t(lang, "bot.masuk.not_allowed"))
        raise ApplicationHandlerStop
    try:
        url, role = await asyncio.to_thread(
            issue, shared.engine, shared.settings, user.id, user.full_name
        )
    except NotAllowed:
        await message.reply_text(t(lang, "bot.masuk.disabled"))
        raise ApplicationHandlerStop from None
    text = t(lang, "bot.masuk.link", url=url, role=t(lang, f"web.role.{role}"))
    await message.reply_text(text, link_preview_options=LinkPreviewOptions(is_disabled=True))
    logger.info("a dashboard login link was sent to a moderator")
    # The contributor conversation must not answer the command as unknown.
    raise ApplicationHandlerStop


def register(application: BotApp, shared: BotServices) -> None:
    """Add `/masuk` and `/login` for private chats (a registrar for `bot.app`)."""
    del shared
    # Before the contributor conversation (group 0), whose catch-all would call it unknown.
    application.add_handler(
        CommandHandler(["masuk", "login"], cmd_masuk, filters=PRIVATE), group=-2
    )
